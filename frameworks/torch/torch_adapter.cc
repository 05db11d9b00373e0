// torch::Tensor <-> core entries, and the handle bookkeeping behind synchronize().
#include "torch_adapter.h"

#include <mutex>
#include <sstream>
#include <unordered_map>

#if HVD_TORCH_CUDA_PLANE
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "collectives/cuda_ready_event.h"
#include "collectives/cuda_stream_capture.h"
#endif

namespace hvd {
namespace {

// Whether the host-staged copies are queued without waiting (host_contiguous): only where the
// adapter can record when they have run.
#if HVD_TORCH_CUDA_PLANE
constexpr bool kAsyncStaging = true;

// An event recorded on `stream`, on the caller's thread. LibTorch's guard selects the stream's
// device around it, so the recording finds it selected and leaves it so, and the guard puts
// the caller's device back its own way (recent LibTorch, with c10::cuda::MaybeSetDevice, makes
// no context on a device the thread never used, which cudaSetDevice would).
StatusOr<std::shared_ptr<const DeviceEvent>> record_ready_event(
    const c10::cuda::CUDAStream& stream) {
  const c10::cuda::CUDAGuard on_stream_device(stream.device_index());
  return record_cuda_ready_event(stream.device_index(), stream.stream());
}
#else
constexpr bool kAsyncStaging = false;
#endif

// A CUDA block goes back to the pool of the stream it was allocated on. Once work queued on
// another stream (the caller's current one: a staging copy, or a copy back after the caller
// switched streams) uses it, that stream must be recorded, or the block could be handed out
// again, and overwritten, before that work has run.
void used_on_current_stream(const torch::Tensor& t) {
#if HVD_TORCH_CUDA_PLANE
  if (t.is_cuda()) {
    c10::cuda::CUDACachingAllocator::recordStream(
        t.storage().data_ptr(), c10::cuda::getCurrentCUDAStream(t.device().index()));
  }
#else
  // No copy runs behind the caller's back: kAsyncStaging is off.
  (void)t;
#endif
}

// Handle -> the state it keeps alive. Thread-safe.
class TorchHandleStates {
 public:
  void add(Handle h, TorchOpState state) {
    std::lock_guard<std::mutex> lock(mu_);
    states_.emplace(h, std::move(state));
  }
  bool take(Handle h, TorchOpState* out) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = states_.find(h);
    if (it == states_.end())
      return false;
    *out = std::move(it->second);
    states_.erase(it);
    return true;
  }
  std::string describe(Handle h) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = states_.find(h);
    return it == states_.end() ? "handle " + std::to_string(h) : it->second.description;
  }

 private:
  std::mutex mu_;
  std::unordered_map<Handle, TorchOpState> states_;
};

TorchHandleStates& handle_states() {
  static TorchHandleStates* states = new TorchHandleStates();  // outlives static destructors
  return *states;
}

}  // namespace

[[noreturn]] void fail(const std::string& message) {
  throw Error(message);
}

void throw_if_error(const Status& status) {
  if (!status.is_ok())
    fail(status.message());
}

DataType to_data_type(const torch::Tensor& t, const char* caller) {
  switch (t.scalar_type()) {
    case torch::kUInt8:
      return DataType::UInt8;
    case torch::kInt8:
      return DataType::Int8;
    case torch::kInt32:
      return DataType::Int32;
    case torch::kInt64:
      return DataType::Int64;
    case torch::kFloat16:
      return DataType::Float16;
    case torch::kBFloat16:
      return DataType::BFloat16;
    case torch::kFloat32:
      return DataType::Float32;
    case torch::kFloat64:
      return DataType::Float64;
    case torch::kBool:
      return DataType::Bool;
    default:
      fail(std::string(caller) + ": dtype " + std::string(c10::toString(t.scalar_type())) +
           " is not supported (supported: uint8, int8, int32, int64, float16, bfloat16, "
           "float32, float64, and bool where no reduction is involved)");
  }
}

void check_tensor(const torch::Tensor& t, const char* caller) {
  if (!t.defined())
    fail(std::string(caller) + ": the tensor is undefined");
  if (!t.device().is_cpu() && !t.device().is_cuda()) {
    fail(std::string(caller) + ": tensor is on " + t.device().str() +
         "; horovod_cpp handles CPU and CUDA tensors");
  }
  if (t.layout() != torch::kStrided) {
    std::ostringstream layout;
    layout << t.layout();
    fail(std::string(caller) + ": the tensor's layout is " + layout.str() +
         "; horovod_cpp handles dense tensors (Tensor::to_dense() makes one)");
  }
}

HostInput host_contiguous(const torch::Tensor& t) {
  if (t.is_cpu())
    return {t.contiguous(), nullptr};
  // A capturing stream was refused by on_device_plane(), which every op calls first.
  HostInput staged{host_empty_like(t), nullptr};
#if HVD_TORCH_CUDA_PLANE
  // After the work that produces t on the caller's stream, and without waiting for it. The
  // page-locked block is not handed out again before the copy has run: LibTorch's host
  // allocator records an event for it on the stream. Nor is t's block, should the caller
  // free t at once, though it came from another stream's pool.
  const c10::cuda::CUDAStream stream = c10::cuda::getCurrentCUDAStream(t.device().index());
  staged.tensor.copy_(t, /*non_blocking=*/true);
  used_on_current_stream(t);
  StatusOr<std::shared_ptr<const DeviceEvent>> ready = record_ready_event(stream);
  throw_if_error(ready.status().with_context("recording the copy out of GPU memory"));
  staged.ready = std::move(ready).value();
#else
  staged.tensor.copy_(t);  // waits for the device: the background thread reads it next
#endif
  return staged;
}

bool on_device_plane(const torch::Tensor& t, const char* caller) {
#if HVD_TORCH_CUDA_PLANE
  if (!t.is_cuda())
    return false;
  // First, before any copy or allocation a capture would take in (either path).
  throw_if_error(
      refuse_if_capturing(c10::cuda::getCurrentCUDAStream(t.device().index()).stream(),
                          std::string(caller) + " on GPU " + std::to_string(t.device().index())));
  StatusOr<bool> enabled = device_plane_enabled(caller);
  throw_if_error(enabled.status());
  return enabled.value();
#else
  (void)t;
  (void)caller;
  return false;
#endif
}

void set_on_device(TensorTableEntry* entry, const torch::Tensor& t) {
#if HVD_TORCH_CUDA_PLANE
  const int device = t.device().index();
  entry->device = device;
  entry->on_device = true;
  StatusOr<std::shared_ptr<const DeviceEvent>> ready =
      record_ready_event(c10::cuda::getCurrentCUDAStream(device));
  throw_if_error(ready.status().with_context("recording the input's ready event"));
  entry->ready = std::move(ready).value();
#else
  (void)entry;
  (void)t;
  fail("internal: this build has no GPU data plane");
#endif
}

torch::Tensor host_empty_like(const torch::Tensor& t) {
  // Page-locked for a CUDA tensor's staging copy: the device copies it by DMA, without the
  // driver's bounce through a pinned buffer of its own.
  return torch::empty(t.sizes(), t.options().device(torch::kCPU).pinned_memory(t.is_cuda()));
}

TensorTableEntry entry_for(const torch::Tensor& input, OpType op, DataType dtype,
                           const std::string& name) {
  TensorTableEntry entry;
  entry.name = name;
  entry.op = op;
  entry.dtype = dtype;
  entry.shape.assign(input.sizes().begin(), input.sizes().end());
  entry.input = input.data_ptr();
  return entry;
}

TensorTableEntry entry_for(const HostInput& input, OpType op, DataType dtype,
                           const std::string& name) {
  TensorTableEntry entry = entry_for(input.tensor, op, dtype, name);
  entry.ready = input.ready;
  return entry;
}

Handle submit(TensorTableEntry entry, TorchOpState state, const char* caller,
              const std::string& name) {
  StatusOr<Handle> handle = enqueue_entry(std::move(entry), caller);
  throw_if_error(handle.status());
  state.description = std::string(caller) + (name.empty() ? "" : " '" + name + "'");
  handle_states().add(handle.value(), std::move(state));
  return handle.value();
}

void check_reducible(DataType dtype, const char* caller) {
  if (dtype == DataType::Bool)
    fail(std::string(caller) + ": reductions are not defined for bool tensors");
}

namespace {

StatusOr<void*> allocate_into(torch::Tensor* slot, const std::vector<std::int64_t>& shape,
                              const torch::TensorOptions& options) {
  try {
    *slot = torch::empty(shape, options);
  } catch (const std::exception& e) {
    return Status::error(std::string("allocating the output: ") + e.what());
  }
  return slot->data_ptr();
}

}  // namespace

void allocate_output_later(TensorTableEntry* entry, TorchOpState* state, const torch::Tensor& input,
                           torch::Device result_device) {
  auto slot = std::make_shared<torch::Tensor>();
  state->allocated_output = slot;
  state->result_device = result_device;
  const torch::TensorOptions options = input.options();
#if HVD_TORCH_CUDA_PLANE
  if (!entry->on_device && result_device.is_cuda()) {
    // Host-staged: page-locked, so that synchronize() copies it to the GPU without waiting;
    // allocated with the result's GPU selected on the background thread, which then makes no
    // CUDA context on another GPU.
    entry->allocate_output = [slot, options = options.pinned_memory(true), result_device](
                                 const std::vector<std::int64_t>& shape) -> StatusOr<void*> {
      relax_capture_checks_on_runtime_thread();  // the background thread's
      c10::cuda::CUDAGuard on_result_device(result_device);
      return allocate_into(slot.get(), shape, options);
    };
    return;
  }
  if (entry->on_device) {
    // On the caller's stream, from its pool of blocks: one it freed after queueing this op may
    // still be read by work queued there since, so the op's ready point moves past that work
    // (the plane waits for the event after allocating).
    const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(entry->device);
    entry->allocate_output = [slot, options, caller, ready = entry->ready](
                                 const std::vector<std::int64_t>& shape) -> StatusOr<void*> {
      relax_capture_checks_on_runtime_thread();  // the background thread's
      c10::cuda::CUDAStreamGuard on_caller_stream(caller);
      HVD_ASSIGN_OR_RETURN(void* output, allocate_into(slot.get(), shape, options));
      if (ready) {
        HVD_RETURN_IF_ERROR(
            rerecord_cuda_ready_event(*ready, caller.device_index(), caller.stream()));
      }
      return output;
    };
    return;
  }
#endif
  entry->allocate_output = [slot,
                            options](const std::vector<std::int64_t>& shape) -> StatusOr<void*> {
    return allocate_into(slot.get(), shape, options);
  };
}

std::vector<Handle> submit_group(std::vector<TensorTableEntry> entries,
                                 std::vector<TorchOpState> states, const std::string& group,
                                 const char* caller) {
  StatusOr<std::vector<Handle>> handles = enqueue_group(std::move(entries), group, caller);
  throw_if_error(handles.status());
  for (size_t i = 0; i < states.size(); ++i) {
    states[i].description = std::string(caller) + " member " + std::to_string(i) +
                            (group.empty() ? "" : " of '" + group + "'");
    handle_states().add(handles.value()[i], std::move(states[i]));
  }
  return handles.value();
}

TorchOpState wait_for_state(Handle h) {
  const Status status = wait_handle(h, handle_states().describe(h));
  TorchOpState state;
  const bool known = handle_states().take(h, &state);
  throw_if_error(status);
  if (!known)
    fail("hvd::synchronize(): handle " + std::to_string(h) + " has no tensor state");
  return state;
}

bool poll(Handle h) {
  StatusOr<bool> done = poll_handle(h);
  throw_if_error(done.status());
  return done.value();
}

torch::Tensor allocated_result(const TorchOpState& state) {
  const torch::Tensor& output = *state.allocated_output;
  if (output.device() == state.result_device)
    return output;
  // Host-staged: queued on the caller's current stream, from page-locked memory (see
  // allocate_output_later) that outlives the copy as in host_contiguous.
  return output.to(state.result_device, output.scalar_type(), /*non_blocking=*/kAsyncStaging);
}

std::vector<torch::Tensor> synchronize_every(const std::vector<Handle>& handles) {
  std::vector<torch::Tensor> outputs;
  std::string first_error;
  for (Handle h : handles) {
    try {
      outputs.push_back(synchronize(h));
    } catch (const Error& e) {
      if (first_error.empty())
        first_error = e.what();
    }
  }
  if (!first_error.empty())
    fail(first_error);
  return outputs;
}

torch::Tensor synchronize(Handle h) {
  TorchOpState state = wait_for_state(h);
  if (state.allocated_output)
    return allocated_result(state);
  if (!state.copy_back_to.defined())
    return state.output;
  if (!state.copy_back_to.is_same(state.output)) {
    // Host-staged: as above, from page-locked memory (output_for, host_contiguous). On the
    // device plane: from the contiguous stand-in of a non-contiguous tensor.
    state.copy_back_to.copy_(state.output,
                             /*non_blocking=*/kAsyncStaging && state.copy_back_to.is_cuda());
    used_on_current_stream(state.output);
    used_on_current_stream(state.copy_back_to);
  }
  return state.copy_back_to;
}

}  // namespace hvd
