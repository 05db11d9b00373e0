// Internal to frameworks/torch: torch::Tensor <-> core entries, and the handle bookkeeping that
// keeps tensors alive while the background thread uses their memory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "horovod_cpp/operations.h"
#include "horovod_cpp/torch.h"

namespace hvd {

// What a handle keeps alive until synchronize(): the tensors the background thread reads and
// writes, and, for an in-place op on a non-contiguous tensor, the tensor to copy the result
// back into.
struct TorchOpState {
  torch::Tensor input;   // contiguous; read by the background thread
  torch::Tensor output;  // contiguous; written by the background thread
  // The output of ops whose shape is known only after negotiation, allocated on the
  // background thread.
  std::shared_ptr<torch::Tensor> allocated_output;
  std::shared_ptr<std::vector<std::int64_t>> received_splits;  // alltoall only
  // Where allocated_output is handed back: the caller's device (a CUDA tensor's result is
  // staged in host memory, then copied there by synchronize()).
  torch::Device result_device{torch::kCPU};
  torch::Tensor copy_back_to;
  std::string description;
};

[[noreturn]] void fail(const std::string& message);
void throw_if_error(const Status& status);

// The core's dtype for `t`; hvd::Error naming `caller` for unsupported dtypes.
DataType to_data_type(const torch::Tensor& t, const char* caller);
// hvd::Error unless `t` is defined and on a device this build handles (CPU, CUDA).
void check_tensor(const torch::Tensor& t, const char* caller);

// CUDA tensors take one of two paths, the same on every rank (HOROVOD_GPU_OPERATIONS is a
// shared setting, and the coordinator compares each tensor's data plane):
// - The GPU data plane (device_plane.h; allreduce, broadcast and allgather so far): the entry reads
// and writes
//   device memory, and the plane's stream waits for an event recorded on the caller's
//   current stream when the op was queued. synchronize() returns once the device has run the
//   op, so the result is usable on any stream.
// - Host staging (no plane built, HOROVOD_GPU_OPERATIONS=MPI): the data is copied to
//   page-locked host memory when the op is queued and the result copied back by
//   synchronize(), both queued on the caller's current CUDA stream, so neither waits for the
//   work queued before it there: the background thread waits for the first copy before the
//   op reads it (staged_input_wait.h), and work queued on that stream after synchronize() sees
//   the result. (A build without the GPU data plane makes both copies before it returns.)
//
// Whether `t` takes the GPU data plane (false for CPU tensors).
bool on_device_plane(const torch::Tensor& t, const char* caller);
// Marks `entry` as reading and writing t's device memory, ready once the work queued so far
// on the caller's current stream has run. Only where on_device_plane(t).
void set_on_device(TensorTableEntry* entry, const torch::Tensor& t);

// A contiguous host tensor that an op reads, and when it holds its data.
struct HostInput {
  torch::Tensor tensor;
  std::shared_ptr<const DeviceEvent> ready;  // null: it does now
};
// `t` itself if it is a contiguous CPU tensor, else a contiguous host copy: for a CUDA tensor
// (the host-staged GPU path), in page-locked memory and, where the build has the GPU data
// plane, queued on the caller's current stream, with `ready` recorded after it.
HostInput host_contiguous(const torch::Tensor& t);
// A new contiguous host tensor with t's shape and dtype, page-locked when t is a CUDA tensor.
torch::Tensor host_empty_like(const torch::Tensor& t);
// hvd::Error if `t` is bool (no reduction is defined for it).
void check_reducible(DataType dtype, const char* caller);

// An entry reading `input` (contiguous).
TensorTableEntry entry_for(const torch::Tensor& input, OpType op, DataType dtype,
                           const std::string& name);
// An entry reading `input` once it is ready.
TensorTableEntry entry_for(const HostInput& input, OpType op, DataType dtype,
                           const std::string& name);
// Sets entry.allocate_output to allocate, like `input`, into state->allocated_output, which
// is handed back on `result_device` (allocated_result).
void allocate_output_later(TensorTableEntry* entry, TorchOpState* state, const torch::Tensor& input,
                           torch::Device result_device);
// state.allocated_output on state.result_device (for a host-staged op, copied there on the
// caller's current stream).
torch::Tensor allocated_result(const TorchOpState& state);

// Queues the entry; `state` stays alive until synchronize(handle).
Handle submit(TensorTableEntry entry, TorchOpState state, const char* caller,
              const std::string& name);
// Queues a group (see enqueue_group), one state per member.
std::vector<Handle> submit_group(std::vector<TensorTableEntry> entries,
                                 std::vector<TorchOpState> states, const std::string& group,
                                 const char* caller);
// Waits for the handle and hands back its state; hvd::Error if the op failed.
TorchOpState wait_for_state(Handle h);
// synchronize() on every handle, even after one fails, so that none is left in flight (its
// name taken) or unreleased; then the outputs in order, or the first failure as hvd::Error.
std::vector<torch::Tensor> synchronize_every(const std::vector<Handle>& handles);

}  // namespace hvd
