// Runs one allreduce Response on the GPU data plane: queues the whole op on the plane's
// stream (wait for each input's ready event, then the reduction) and returns without waiting
// for the device; the runtime hands the plane's completion() to the finalizer, whose callback
// completes the entries. A single tensor is reduced from its input into its output; several
// are packed into the plane's fusion buffer (prescale on the way in), reduced with one call,
// and unpacked (postscale on the way out). The plane divides for Average.
// Thread: background only.
#pragma once

#include <vector>

#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

class DeviceAllreduceExecutor {
 public:
  // Both outlive the executor.
  DeviceAllreduceExecutor(DevicePlane* plane, RuntimeCounters* counters);

  // `entries` are in the response's name order, in memory of the plane's device.
  Status enqueue(const Response& response, const std::vector<TensorTableEntry>& entries);

 private:
  Status enqueue_single(const Response& response, const TensorTableEntry& entry);
  Status enqueue_fused(const Response& response, const std::vector<TensorTableEntry>& entries);
  Status reduce(const void* input, void* output, std::int64_t count, const Response& response);

  DevicePlane* const plane_;
  RuntimeCounters* const counters_;
};

}  // namespace hvd
