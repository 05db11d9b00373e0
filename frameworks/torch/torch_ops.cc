// torch::Tensor <-> core entries, and the handle bookkeeping that keeps tensors alive while
// the background thread uses their memory.
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "horovod_cpp/operations.h"
#include "horovod_cpp/torch.h"

namespace hvd {
namespace {

// What a handle keeps alive until synchronize(): the tensor the background thread reads and
// writes, and, for an in-place op on a non-contiguous tensor, the tensor to copy the result
// back into. Thread-safe.
struct TorchOpState {
  torch::Tensor input;   // contiguous; read by the background thread
  torch::Tensor output;  // contiguous; written by the background thread
  // Allgather's output, allocated on the background thread once its shape is known.
  std::shared_ptr<torch::Tensor> allocated_output;
  torch::Tensor copy_back_to;
  std::string description;
};

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
  if (!t.device().is_cpu()) {
    fail(std::string(caller) + ": tensor is on " + t.device().str() +
         "; this build of horovod_cpp handles CPU tensors only");
  }
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

Handle submit(TensorTableEntry entry, TorchOpState state, const char* caller,
              const std::string& name) {
  StatusOr<Handle> handle = enqueue_entry(std::move(entry), caller);
  throw_if_error(handle.status());
  state.description = std::string(caller) + (name.empty() ? "" : " '" + name + "'");
  handle_states().add(handle.value(), std::move(state));
  return handle.value();
}

struct AllreduceArgs {
  ReduceOp op;
  std::string name;
  double prescale;
  double postscale;
};

Handle enqueue_allreduce(const torch::Tensor& source, torch::Tensor output,
                         torch::Tensor copy_back_to, const AllreduceArgs& args,
                         const char* caller) {
  const DataType dtype = to_data_type(source, caller);
  if (dtype == DataType::Bool) {
    fail(std::string(caller) + ": reductions are not defined for bool tensors");
  }
  torch::Tensor input = source.contiguous();
  TensorTableEntry entry = entry_for(input, OpType::Allreduce, dtype, args.name);
  entry.reduce_op = args.op;
  entry.prescale = args.prescale;
  entry.postscale = args.postscale;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = std::move(input);
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, args.name);
}

// Writes into `target` when it is contiguous, else into a contiguous copy that synchronize()
// copies back: the shared shape of every in-place op.
Handle enqueue_in_place(torch::Tensor& target, const char* caller,
                        const std::function<Handle(const torch::Tensor& work)>& enqueue) {
  check_tensor(target, caller);
  if (target.is_contiguous())
    return enqueue(target);
  return enqueue(target.contiguous());
}

void check_root_rank(int root_rank, const char* caller) {
  StatusOr<int> size = runtime_size(caller);
  throw_if_error(size.status());
  if (root_rank < 0 || root_rank >= size.value()) {
    fail(std::string(caller) + ": root_rank " + std::to_string(root_rank) +
         " is out of range [0, " + std::to_string(size.value()) + ")");
  }
}

Handle enqueue_broadcast(const torch::Tensor& source, torch::Tensor output,
                         torch::Tensor copy_back_to, int root_rank, const std::string& name,
                         const char* caller) {
  const DataType dtype = to_data_type(source, caller);
  check_root_rank(root_rank, caller);
  torch::Tensor input = source.contiguous();
  TensorTableEntry entry = entry_for(input, OpType::Broadcast, dtype, name);
  entry.root_rank = root_rank;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = std::move(input);
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, name);
}

}  // namespace

Handle allreduce_async(const torch::Tensor& t, ReduceOp op, const std::string& name,
                       double prescale_factor, double postscale_factor) {
  const char* caller = "hvd::allreduce_async()";
  check_tensor(t, caller);
  torch::Tensor output = torch::empty_like(t, torch::MemoryFormat::Contiguous);
  return enqueue_allreduce(t, output, torch::Tensor(),
                           {op, name, prescale_factor, postscale_factor}, caller);
}

Handle allreduce_async_(torch::Tensor& t, ReduceOp op, const std::string& name,
                        double prescale_factor, double postscale_factor) {
  const char* caller = "hvd::allreduce_async_()";
  return enqueue_in_place(t, caller, [&](const torch::Tensor& work) {
    return enqueue_allreduce(work, work, t, {op, name, prescale_factor, postscale_factor}, caller);
  });
}

torch::Tensor allreduce(const torch::Tensor& t, ReduceOp op, const std::string& name,
                        double prescale_factor, double postscale_factor) {
  return synchronize(allreduce_async(t, op, name, prescale_factor, postscale_factor));
}

torch::Tensor& allreduce_(torch::Tensor& t, ReduceOp op, const std::string& name,
                          double prescale_factor, double postscale_factor) {
  synchronize(allreduce_async_(t, op, name, prescale_factor, postscale_factor));
  return t;
}

Handle allgather_async(const torch::Tensor& t, const std::string& name) {
  const char* caller = "hvd::allgather_async()";
  check_tensor(t, caller);
  if (t.dim() == 0)
    fail(std::string(caller) + ": a scalar has no dim 0 to gather; reshape to [1]");
  const DataType dtype = to_data_type(t, caller);
  torch::Tensor input = t.contiguous();
  TensorTableEntry entry = entry_for(input, OpType::Allgather, dtype, name);
  auto slot = std::make_shared<torch::Tensor>();
  entry.allocate_output =
      [slot, options = input.options()](const std::vector<std::int64_t>& shape) -> StatusOr<void*> {
    *slot = torch::empty(shape, options);
    return slot->data_ptr();
  };
  TorchOpState state;
  state.input = std::move(input);
  state.allocated_output = std::move(slot);
  return submit(std::move(entry), std::move(state), caller, name);
}

torch::Tensor allgather(const torch::Tensor& t, const std::string& name) {
  return synchronize(allgather_async(t, name));
}

Handle broadcast_async_(torch::Tensor& t, int root_rank, const std::string& name) {
  const char* caller = "hvd::broadcast_async_()";
  return enqueue_in_place(t, caller, [&](const torch::Tensor& work) {
    return enqueue_broadcast(work, work, t, root_rank, name, caller);
  });
}

torch::Tensor& broadcast_(torch::Tensor& t, int root_rank, const std::string& name) {
  synchronize(broadcast_async_(t, root_rank, name));
  return t;
}

torch::Tensor broadcast(const torch::Tensor& t, int root_rank, const std::string& name) {
  const char* caller = "hvd::broadcast()";
  check_tensor(t, caller);
  torch::Tensor output = torch::empty_like(t, torch::MemoryFormat::Contiguous);
  return synchronize(enqueue_broadcast(t, output, torch::Tensor(), root_rank, name, caller));
}

bool poll(Handle h) {
  StatusOr<bool> done = poll_handle(h);
  throw_if_error(done.status());
  return done.value();
}

torch::Tensor synchronize(Handle h) {
  const Status status = wait_handle(h, handle_states().describe(h));
  TorchOpState state;
  const bool known = handle_states().take(h, &state);
  throw_if_error(status);
  if (!known)
    fail("hvd::synchronize(): handle " + std::to_string(h) + " has no tensor state");
  if (state.allocated_output)
    return *state.allocated_output;
  if (!state.copy_back_to.defined())
    return state.output;
  if (!state.copy_back_to.is_same(state.output))
    state.copy_back_to.copy_(state.output);
  return state.copy_back_to;
}

}  // namespace hvd
