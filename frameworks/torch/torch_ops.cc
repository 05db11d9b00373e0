// The collectives on torch::Tensor: each checks its arguments locally, queues an entry for
// the background thread, and (blocking forms) waits for it.
#include <tuple>

#include "torch_adapter.h"

namespace hvd {
namespace {

// What the coordinator compares across ranks as the device kind (with the data plane: see
// torch_adapter.h).
int device_index(const torch::Tensor& t) {
  return t.is_cuda() ? t.device().index() : kCpuDevice;
}

struct AllreduceArgs {
  ReduceOp op;
  std::string name;
  double prescale;
  double postscale;
};

Handle enqueue_allreduce(const HostInput& input, torch::Tensor output, torch::Tensor copy_back_to,
                         const AllreduceArgs& args, const char* caller) {
  const DataType dtype = to_data_type(input.tensor, caller);
  TensorTableEntry entry = entry_for(input, OpType::Allreduce, dtype, args.name);
  entry.device = device_index(copy_back_to.defined() ? copy_back_to : input.tensor);
  entry.reduce_op = args.op;
  entry.prescale = args.prescale;
  entry.postscale = args.postscale;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = input.tensor;
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, args.name);
}

// On the GPU data plane: `input` and `output` are contiguous CUDA tensors; synchronize()
// copies `output` into `copy_back_to` when that is another tensor.
Handle enqueue_allreduce_on_device(const torch::Tensor& input, torch::Tensor output,
                                   torch::Tensor copy_back_to, const AllreduceArgs& args,
                                   const char* caller) {
  const DataType dtype = to_data_type(input, caller);
  TensorTableEntry entry = entry_for(input, OpType::Allreduce, dtype, args.name);
  set_on_device(&entry, input);  // after contiguous(): the event covers that copy too
  entry.reduce_op = args.op;
  entry.prescale = args.prescale;
  entry.postscale = args.postscale;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = input;
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, args.name);
}

// What an op on `t` reads: t's contiguous self on the GPU data plane (where the entry's ready
// event is set_on_device's), else host_contiguous(t).
HostInput op_input(const torch::Tensor& t, bool on_device) {
  return on_device ? HostInput{t.contiguous(), nullptr} : host_contiguous(t);
}

// Writes into `target` when it is a contiguous CPU tensor, else into a contiguous host copy
// that synchronize() copies back: the shared shape of every in-place op.
Handle enqueue_in_place(torch::Tensor& target, const char* caller,
                        const std::function<Handle(const HostInput& work)>& enqueue) {
  check_tensor(target, caller);
  return enqueue(host_contiguous(target));
}

// The output an out-of-place op writes (host memory) and, for a CUDA input, the tensor on its
// device that synchronize() copies the result into.
std::pair<torch::Tensor, torch::Tensor> output_for(const torch::Tensor& t) {
  if (t.is_cpu())
    return {torch::empty_like(t, torch::MemoryFormat::Contiguous), torch::Tensor()};
  return {host_empty_like(t), torch::empty_like(t, torch::MemoryFormat::Contiguous)};
}

void check_root_rank(int root_rank, const char* caller) {
  StatusOr<int> size = runtime_size(caller);
  throw_if_error(size.status());
  if (root_rank < 0 || root_rank >= size.value()) {
    fail(std::string(caller) + ": root_rank " + std::to_string(root_rank) +
         " is out of range [0, " + std::to_string(size.value()) + ")");
  }
}

Handle enqueue_broadcast(const HostInput& input, torch::Tensor output, torch::Tensor copy_back_to,
                         int root_rank, const std::string& name, const char* caller) {
  const DataType dtype = to_data_type(input.tensor, caller);
  TensorTableEntry entry = entry_for(input, OpType::Broadcast, dtype, name);
  entry.device = device_index(copy_back_to.defined() ? copy_back_to : input.tensor);
  entry.root_rank = root_rank;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = input.tensor;
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, name);
}

// On the GPU data plane, as enqueue_allreduce_on_device.
Handle enqueue_broadcast_on_device(const torch::Tensor& input, torch::Tensor output,
                                   torch::Tensor copy_back_to, int root_rank,
                                   const std::string& name, const char* caller) {
  const DataType dtype = to_data_type(input, caller);
  TensorTableEntry entry = entry_for(input, OpType::Broadcast, dtype, name);
  set_on_device(&entry, input);
  entry.root_rank = root_rank;
  entry.output = output.data_ptr();
  TorchOpState state;
  state.input = input;
  state.output = std::move(output);
  state.copy_back_to = std::move(copy_back_to);
  return submit(std::move(entry), std::move(state), caller, name);
}

}  // namespace

Handle allreduce_async(const torch::Tensor& t, ReduceOp op, const std::string& name,
                       double prescale_factor, double postscale_factor) {
  const char* caller = "hvd::allreduce_async()";
  check_tensor(t, caller);
  check_reducible(to_data_type(t, caller), caller);  // before any copy is queued
  if (on_device_plane(t, caller)) {
    torch::Tensor input = t.contiguous();
    return enqueue_allreduce_on_device(
        input, torch::empty_like(input, torch::MemoryFormat::Contiguous), torch::Tensor(),
        {op, name, prescale_factor, postscale_factor}, caller);
  }
  auto [output, on_device] = output_for(t);
  return enqueue_allreduce(host_contiguous(t), output, on_device,
                           {op, name, prescale_factor, postscale_factor}, caller);
}

Handle allreduce_async_(torch::Tensor& t, ReduceOp op, const std::string& name,
                        double prescale_factor, double postscale_factor) {
  const char* caller = "hvd::allreduce_async_()";
  check_tensor(t, caller);
  check_reducible(to_data_type(t, caller), caller);  // before any copy is queued
  if (on_device_plane(t, caller)) {
    torch::Tensor work = t.contiguous();  // t itself when it is contiguous
    return enqueue_allreduce_on_device(work, work, t, {op, name, prescale_factor, postscale_factor},
                                       caller);
  }
  return enqueue_in_place(t, caller, [&](const HostInput& work) {
    return enqueue_allreduce(work, work.tensor, t, {op, name, prescale_factor, postscale_factor},
                             caller);
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
  const bool on_device = on_device_plane(t, caller);
  const HostInput read = op_input(t, on_device);
  const torch::Tensor& input = read.tensor;
  TensorTableEntry entry = entry_for(read, OpType::Allgather, dtype, name);
  entry.device = device_index(t);
  if (on_device)
    set_on_device(&entry, input);  // the output is allocated on input's device, below
  TorchOpState state;
  allocate_output_later(&entry, &state, input, t.device());
  state.input = input;
  return submit(std::move(entry), std::move(state), caller, name);
}

torch::Tensor allgather(const torch::Tensor& t, const std::string& name) {
  return synchronize(allgather_async(t, name));
}

Handle broadcast_async_(torch::Tensor& t, int root_rank, const std::string& name) {
  const char* caller = "hvd::broadcast_async_()";
  check_tensor(t, caller);
  (void)to_data_type(t, caller);  // throws for an unsupported dtype, before any copy is queued
  check_root_rank(root_rank, caller);
  if (on_device_plane(t, caller)) {
    torch::Tensor work = t.contiguous();  // t itself when it is contiguous
    return enqueue_broadcast_on_device(work, work, t, root_rank, name, caller);
  }
  return enqueue_in_place(t, caller, [&](const HostInput& work) {
    return enqueue_broadcast(work, work.tensor, t, root_rank, name, caller);
  });
}

torch::Tensor& broadcast_(torch::Tensor& t, int root_rank, const std::string& name) {
  synchronize(broadcast_async_(t, root_rank, name));
  return t;
}

torch::Tensor broadcast(const torch::Tensor& t, int root_rank, const std::string& name) {
  const char* caller = "hvd::broadcast()";
  check_tensor(t, caller);
  (void)to_data_type(t, caller);  // throws for an unsupported dtype, before any copy is queued
  check_root_rank(root_rank, caller);
  if (on_device_plane(t, caller)) {
    torch::Tensor input = t.contiguous();
    return synchronize(enqueue_broadcast_on_device(
        input, torch::empty_like(input, torch::MemoryFormat::Contiguous), torch::Tensor(),
        root_rank, name, caller));
  }
  auto [output, on_device] = output_for(t);
  return synchronize(
      enqueue_broadcast(host_contiguous(t), output, on_device, root_rank, name, caller));
}

std::vector<torch::Tensor> grouped_allreduce(const std::vector<torch::Tensor>& ts, ReduceOp op,
                                             const std::string& name) {
  const char* caller = "hvd::grouped_allreduce()";
  std::vector<TensorTableEntry> entries;
  std::vector<TorchOpState> states;
  for (size_t i = 0; i < ts.size(); ++i) {
    const std::string member_caller = std::string(caller) + " tensor " + std::to_string(i);
    check_tensor(ts[i], member_caller.c_str());
    const DataType dtype = to_data_type(ts[i], member_caller.c_str());
    check_reducible(dtype, member_caller.c_str());
    const bool on_device = on_device_plane(ts[i], member_caller.c_str());
    const HostInput read = op_input(ts[i], on_device);
    const torch::Tensor& input = read.tensor;
    TensorTableEntry entry = entry_for(read, OpType::Allreduce, dtype, "");
    entry.device = device_index(ts[i]);
    if (on_device)
      set_on_device(&entry, input);
    entry.reduce_op = op;
    TorchOpState state;
    if (on_device) {
      state.output = torch::empty_like(input, torch::MemoryFormat::Contiguous);
    } else {
      std::tie(state.output, state.copy_back_to) = output_for(ts[i]);  // as allreduce_async
    }
    entry.output = state.output.data_ptr();
    state.input = input;
    entries.push_back(std::move(entry));
    states.push_back(std::move(state));
  }
  if (entries.empty())
    return {};
  // Every member completes (the group runs or fails as a unit).
  return synchronize_every(submit_group(std::move(entries), std::move(states), name, caller));
}

std::pair<torch::Tensor, torch::Tensor> alltoall(const torch::Tensor& t,
                                                 const torch::Tensor& splits,
                                                 const std::string& name) {
  const char* caller = "hvd::alltoall()";
  check_tensor(t, caller);
  if (t.dim() == 0)
    fail(std::string(caller) + ": a scalar has no dim 0 to split; reshape to [1]");
  const DataType dtype = to_data_type(t, caller);
  const bool on_device = on_device_plane(t, caller);
  const HostInput read = op_input(t, on_device);
  const torch::Tensor& input = read.tensor;
  TensorTableEntry entry = entry_for(read, OpType::Alltoall, dtype, name);
  entry.device = device_index(t);
  if (on_device)
    set_on_device(&entry, input);  // the output is allocated on input's device
  if (splits.defined()) {
    if (splits.dim() != 1 || !c10::isIntegralType(splits.scalar_type(), /*includeBool=*/false)) {
      fail(std::string(caller) + ": splits must be a 1-D integer tensor, got " +
           c10::toString(splits.scalar_type()) + " of shape " +
           shape_to_string({splits.sizes().begin(), splits.sizes().end()}));
    }
    torch::Tensor as_int64 = splits.to(torch::kCPU, torch::kInt64).contiguous();
    entry.splits.assign(as_int64.data_ptr<int64_t>(),
                        as_int64.data_ptr<int64_t>() + as_int64.numel());
  }
  TorchOpState state;
  allocate_output_later(&entry, &state, input, t.device());
  auto received = std::make_shared<std::vector<std::int64_t>>();
  entry.set_received_splits = [received](const std::vector<std::int64_t>& rows) {
    *received = rows;
  };
  state.received_splits = received;
  state.input = input;
  TorchOpState done = wait_for_state(submit(std::move(entry), std::move(state), caller, name));
  torch::Tensor received_splits =
      torch::tensor(*done.received_splits, torch::TensorOptions().dtype(torch::kInt64));
  return {allocated_result(done), received_splits};
}

torch::Tensor reducescatter(const torch::Tensor& t, ReduceOp op, const std::string& name) {
  const char* caller = "hvd::reducescatter()";
  check_tensor(t, caller);
  if (t.dim() == 0)
    fail(std::string(caller) + ": a scalar has no dim 0 to scatter; reshape to [1]");
  const DataType dtype = to_data_type(t, caller);
  check_reducible(dtype, caller);
  const bool on_device = on_device_plane(t, caller);
  const HostInput read = op_input(t, on_device);
  const torch::Tensor& input = read.tensor;
  TensorTableEntry entry = entry_for(read, OpType::Reducescatter, dtype, name);
  entry.device = device_index(t);
  if (on_device)
    set_on_device(&entry, input);  // the output is allocated on input's device
  entry.reduce_op = op;
  TorchOpState state;
  allocate_output_later(&entry, &state, input, t.device());
  state.input = input;
  return synchronize(submit(std::move(entry), std::move(state), caller, name));
}

void barrier() {
  TensorTableEntry entry;
  entry.op = OpType::Barrier;
  entry.dtype = DataType::UInt8;
  synchronize(submit(std::move(entry), TorchOpState(), "hvd::barrier()", ""));
}

int join() {
  TensorTableEntry entry;
  entry.op = OpType::Join;
  entry.name = kJoinName;
  entry.dtype = DataType::Int32;
  TorchOpState state;
  state.output = torch::full({1}, -1, torch::kInt32);
  entry.output = state.output.data_ptr();
  return synchronize(submit(std::move(entry), std::move(state), "hvd::join()", ""))
      .item<std::int32_t>();
}

}  // namespace hvd
