// One op a user asked for, as the runtime tracks it from enqueue to callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "horovod_cpp/data_type.h"
#include "horovod_cpp/op_type.h"
#include "horovod_cpp/status.h"

namespace hvd {

class DeviceEvent;  // device_plane.h

struct TensorTableEntry {
  std::string name;
  OpType op = OpType::Allreduce;
  DataType dtype = DataType::Float32;
  std::vector<std::int64_t> shape;
  int device = kCpuDevice;
  // input and output are memory of `device`, for the GPU data plane (device_plane.h); false
  // for CPU tensors and for CUDA tensors the adapter staged through host memory.
  bool on_device = false;
  // When the input holds its data (null: it does now). On-device ops: the plane's stream waits
  // for it. Host ops staged out of GPU memory: the background thread waits for it before the
  // op reads the input (staged_input_wait.h).
  std::shared_ptr<const DeviceEvent> ready;
  ReduceOp reduce_op = ReduceOp::Average;
  double prescale = 1.0;
  double postscale = 1.0;
  int root_rank = 0;                 // Broadcast only
  std::vector<std::int64_t> splits;  // Alltoall only: rows sent to each rank; empty = even
  // grouped_allreduce members only (see Request).
  std::string group;
  int group_size = 0;
  int group_index = 0;
  // Contiguous buffers owned by the framework adapter, which keeps them alive until the
  // callback has run. input may equal output (in-place ops).
  const void* input = nullptr;
  void* output = nullptr;
  // Ops whose output shape is known only after negotiation (allgather, alltoall,
  // reducescatter) leave `output` null and get it from here, on the background thread, with
  // the final shape. On the GPU data plane it runs before the plane waits for `ready`, so an
  // allocator may move the ready point later (the torch adapter does).
  std::function<StatusOr<void*>(const std::vector<std::int64_t>& shape)> allocate_output;
  // Alltoall only: receives the rows that came from each rank, on the background thread.
  std::function<void(const std::vector<std::int64_t>& received_splits)> set_received_splits;
  // Runs exactly once with the op's outcome: on the background thread, or for on-device ops
  // on the finalizer thread once the device has run them.
  std::function<void(const Status&)> callback;

  std::int64_t num_elements() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape)
      n *= d;
    return n;
  }
  std::int64_t byte_size() const { return num_elements() * element_size_bytes(dtype); }
};

}  // namespace hvd
