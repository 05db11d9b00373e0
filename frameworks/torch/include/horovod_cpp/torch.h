// Public LibTorch API of horovod_cpp: collectives on torch::Tensor (CPU today).
// Every function throws hvd::Error on bad input or a cross-rank mismatch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "horovod_cpp/horovod.h"

namespace hvd {

using Handle = std::int64_t;

// Reduces `t` across all ranks; returns a new tensor (allreduce) or writes into `t`
// (allreduce_). Average divides the sum by size(); on integer tensors that division truncates
// toward zero. prescale multiplies every input before the reduction, postscale every output
// after it. Non-contiguous inputs are accepted.
torch::Tensor allreduce(const torch::Tensor& t, ReduceOp op = ReduceOp::Average,
                        const std::string& name = "", double prescale_factor = 1.0,
                        double postscale_factor = 1.0);
torch::Tensor& allreduce_(torch::Tensor& t, ReduceOp op = ReduceOp::Average,
                          const std::string& name = "", double prescale_factor = 1.0,
                          double postscale_factor = 1.0);
// Return at once; synchronize(handle) returns the result (for allreduce_async_, `t` itself,
// updated).
Handle allreduce_async(const torch::Tensor& t, ReduceOp op = ReduceOp::Average,
                       const std::string& name = "", double prescale_factor = 1.0,
                       double postscale_factor = 1.0);
Handle allreduce_async_(torch::Tensor& t, ReduceOp op = ReduceOp::Average,
                        const std::string& name = "", double prescale_factor = 1.0,
                        double postscale_factor = 1.0);

// Reduces every tensor of `ts` like allreduce, as one unit: the group is negotiated together,
// never split across negotiation cycles, and fused where it fits. Results are in input order.
// Members are named "<name>[i]" (an automatic name when `name` is empty). If any member fails
// (say, a shape mismatch), every member fails and the error names the cause.
std::vector<torch::Tensor> grouped_allreduce(const std::vector<torch::Tensor>& ts,
                                             ReduceOp op = ReduceOp::Average,
                                             const std::string& name = "");

// Concatenates every rank's `t` along dim 0, in rank order. dim 0 may differ per rank; the
// other dimensions must match.
torch::Tensor allgather(const torch::Tensor& t, const std::string& name = "");
Handle allgather_async(const torch::Tensor& t, const std::string& name = "");

// Every rank receives root_rank's `t`; shapes must match everywhere, root_rank in [0, size()).
// broadcast returns a new tensor; broadcast_ and broadcast_async_ write into `t`.
torch::Tensor broadcast(const torch::Tensor& t, int root_rank, const std::string& name = "");
torch::Tensor& broadcast_(torch::Tensor& t, int root_rank, const std::string& name = "");
Handle broadcast_async_(torch::Tensor& t, int root_rank, const std::string& name = "");

// Rank r sends splits[k] rows of `t` (dim 0) to rank k and returns {the rows received from
// every rank, in rank order; received_splits (int64, one count per rank)}. `splits` is a 1-D
// integer tensor of length size() summing to t.size(0); without it dim 0 must divide by size()
// and every rank gets an equal share. Other dimensions must match across ranks.
std::pair<torch::Tensor, torch::Tensor> alltoall(const torch::Tensor& t,
                                                 const torch::Tensor& splits = torch::Tensor(),
                                                 const std::string& name = "");
// Sum or Average of `t` over ranks, of which this rank keeps its block of dim 0: rank r gets
// rows [start_r, start_r + n_r) where n_r = dim0 / size() + (r < dim0 % size() ? 1 : 0).
// Shapes must match across ranks. Average on integers truncates toward zero.
torch::Tensor reducescatter(const torch::Tensor& t, ReduceOp op = ReduceOp::Average,
                            const std::string& name = "");
// Returns once every rank has called barrier() (matched by call order, like unnamed ops).
void barrier();
// For ranks that run out of data early: a joined rank stops submitting, and while some ranks
// are joined the others' allreduces (only allreduce) proceed with the joined ranks contributing
// zeros (Average still divides by size()). Returns, on every rank, once all ranks have joined:
// the rank that joined last (the same value everywhere; if several joined in the same
// negotiation cycle, the highest of them).
int join();

bool poll(Handle h);                  // true when done (successfully or not)
torch::Tensor synchronize(Handle h);  // waits; returns the output; throws hvd::Error

// Overwrites every tensor in `params` with root_rank's values (in place, no autograd record).
void broadcast_parameters(const torch::OrderedDict<std::string, torch::Tensor>& params,
                          int root_rank);
// Makes every rank's optimizer state (and each param group's lr) equal to root_rank's: SGD,
// Adam, AdamW, RMSprop and Adagrad. State that exists on root but not yet here is created.
void broadcast_optimizer_state(torch::optim::Optimizer& optimizer, int root_rank);

enum class Compression { None, FP16, BF16 };

struct DistributedOptimizerOptions {
  ReduceOp op = ReduceOp::Average;  // Average or Sum over ranks
  Compression compression = Compression::None;
  int backward_passes_per_step = 1;        // backward passes accumulated locally per step()
  double gradient_predivide_factor = 1.0;  // Average as: prescale 1/f, postscale f/size
};

// Wraps an optimizer so that step() applies gradients averaged over all ranks. A hook on each
// parameter starts its gradient's allreduce as soon as autograd produces it (overlapping the
// rest of backward); step() waits for all of them, then calls inner.step(). Parameters that
// got no gradient on this rank are reduced as zeros, so every rank submits the same set.
// Parameters frozen (requires_grad false) when it is made are left alone, as in Horovod; a
// gradient on one later (unfrozen, or added with add_param_group) makes step() throw, naming
// it, since no rank would reduce it. Sparse gradients are refused, naming the parameter.
// Thread: the thread that runs backward() and step(); hooks may run on autograd threads.
class DistributedOptimizer {
 public:
  // Wraps (does not own) `inner`, which must outlive this. Every parameter of `inner` must
  // appear exactly once in named_parameters, else hvd::Error naming the offender.
  DistributedOptimizer(torch::optim::Optimizer& inner,
                       const torch::OrderedDict<std::string, torch::Tensor>& named_parameters,
                       DistributedOptimizerOptions options = {});
  ~DistributedOptimizer();
  DistributedOptimizer(const DistributedOptimizer&) = delete;
  DistributedOptimizer& operator=(const DistributedOptimizer&) = delete;

  void zero_grad();  // hvd::Error if reductions are still in flight
  // With a closure, the inner optimizer calls it (LBFGS: many times); after each call the
  // gradients it produced are reduced (even under skip_synchronize) and so is the loss it
  // returns (with options.op), so every rank updates, and decides, alike. Returns the inner
  // step's loss: with a closure, reduced over ranks.
  torch::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr);
  // Waits for every gradient reduction; results are in .grad(). Until the next backward pass,
  // zero_grad() or step(), calling it again (or step() after it) reduces nothing twice.
  void synchronize();

  // RAII guard: step() inside its scope does not synchronize (call synchronize() yourself,
  // e.g. before clipping gradients).
  class SkipSynchronize {
   public:
    explicit SkipSynchronize(DistributedOptimizer* optimizer);
    ~SkipSynchronize();
    SkipSynchronize(const SkipSynchronize&) = delete;
    SkipSynchronize& operator=(const SkipSynchronize&) = delete;

   private:
    DistributedOptimizer* optimizer_;
  };
  SkipSynchronize skip_synchronize();
  torch::optim::Optimizer& inner();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hvd
