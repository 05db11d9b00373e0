// Runs one allreduce Response on the GPU data plane: queues the whole op on the plane's
// stream (wait for each input's ready event, then the reduction) and returns without waiting
// for the device; the runtime hands the plane's completion() to the finalizer, whose callback
// completes the entries. A single tensor is reduced from its input into its output; several
// are packed into the plane's fusion buffer (prescale on the way in; one batch of copies, which
// the CUDA plane runs as one kernel for the small ones), reduced with one call, and unpacked
// (postscale on the way out). The plane divides for Average.
//
// Hierarchical (HOROVOD_HIERARCHICAL_ALLREDUCE, with several hosts that all run as many
// ranks): the tensors are packed into the fusion buffer (one tensor too) and padded to equal
// shards, reduce-scattered over this host's ranks on the device, each rank's shard copied to
// page-locked host memory, allreduced
// across hosts over MPI (the cross communicator: one rank per host), copied back and
// allgathered within the host, then unpacked. Average is a Sum at both levels and a 1/size
// factor in the unpacking; an integer Average (which must truncate once, at the end) takes the
// flat path. Like Horovod's, this path blocks the background thread while the device
// reduce-scatters and copies the shard out (a bounded wait), so that MPI reads a complete shard.
// Thread: background only.
#pragma once

#include <chrono>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/device_plane.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/runtime_counters.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

class DeviceAllreduceExecutor {
 public:
  // All outlive the executor. `hierarchy`: the MPI context whose local and cross communicators
  // the hierarchical path uses, or null for the flat path only; `device_limit` bounds its wait
  // for the device.
  DeviceAllreduceExecutor(DevicePlane* plane, RuntimeCounters* counters,
                          const MpiContext* hierarchy = nullptr,
                          std::chrono::milliseconds device_limit = std::chrono::minutes(10));

  // Between ops (autotuning switches the hierarchical allreduce on or off): as `hierarchy` above.
  void set_hierarchy(const MpiContext* hierarchy) { hierarchy_ = hierarchy; }

  // `entries` are in the response's name order, in memory of the plane's device.
  Status enqueue(const Response& response, const std::vector<TensorTableEntry>& entries);

 private:
  Status enqueue_single(const Response& response, const TensorTableEntry& entry);
  Status enqueue_fused(const Response& response, const std::vector<TensorTableEntry>& entries);
  Status enqueue_hierarchical(const Response& response,
                              const std::vector<TensorTableEntry>& entries);
  Status reduce(const void* input, void* output, std::int64_t count, const Response& response);
  StatusOr<void*> fusion_buffer(std::int64_t bytes);
  // The entries' inputs into `buffer`, back to back, times `prescale`; one batch of copies.
  Status pack(const std::vector<TensorTableEntry>& entries, char* buffer, DataType dtype,
              double prescale);
  // The reverse, into the entries' outputs, times `postscale`.
  Status unpack(const char* buffer, const std::vector<TensorTableEntry>& entries, DataType dtype,
                double postscale);
  Status wait_for_device();

  DevicePlane* const plane_;
  RuntimeCounters* const counters_;
  const MpiContext* hierarchy_;
  const std::chrono::milliseconds device_limit_;
};

}  // namespace hvd
