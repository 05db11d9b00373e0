// torch::Tensor <-> core entries, and the handle bookkeeping that keeps tensors alive while
// the background thread uses their memory.
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
  TensorTableEntry entry;
  entry.name = args.name;
  entry.op = OpType::Allreduce;
  entry.dtype = dtype;
  entry.shape.assign(input.sizes().begin(), input.sizes().end());
  entry.reduce_op = args.op;
  entry.prescale = args.prescale;
  entry.postscale = args.postscale;
  entry.input = input.data_ptr();
  entry.output = output.data_ptr();
  StatusOr<Handle> handle = enqueue_entry(std::move(entry), caller);
  throw_if_error(handle.status());
  TorchOpState state;
  state.input = std::move(input);
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  state.description = std::string(caller) + (args.name.empty() ? "" : " '" + args.name + "'");
  handle_states().add(handle.value(), std::move(state));
  return handle.value();
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
  check_tensor(t, caller);
  if (t.is_contiguous()) {
    // In place: the background thread reads and writes t's own memory.
    return enqueue_allreduce(t, t, t, {op, name, prescale_factor, postscale_factor}, caller);
  }
  torch::Tensor work = t.contiguous();
  return enqueue_allreduce(work, work, t, {op, name, prescale_factor, postscale_factor}, caller);
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
  if (!state.copy_back_to.defined())
    return state.output;
  if (!state.copy_back_to.is_same(state.output))
    state.copy_back_to.copy_(state.output);
  return state.copy_back_to;
}

}  // namespace hvd
