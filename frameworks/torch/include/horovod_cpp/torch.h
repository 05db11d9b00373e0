// Public LibTorch API of horovod_cpp: collectives on torch::Tensor (CPU today).
// Every function throws hvd::Error on bad input or a cross-rank mismatch.
#pragma once

#include <cstdint>
#include <string>

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

// Concatenates every rank's `t` along dim 0, in rank order. dim 0 may differ per rank; the
// other dimensions must match.
torch::Tensor allgather(const torch::Tensor& t, const std::string& name = "");
Handle allgather_async(const torch::Tensor& t, const std::string& name = "");

// Every rank receives root_rank's `t`; shapes must match everywhere, root_rank in [0, size()).
// broadcast returns a new tensor; broadcast_ and broadcast_async_ write into `t`.
torch::Tensor broadcast(const torch::Tensor& t, int root_rank, const std::string& name = "");
torch::Tensor& broadcast_(torch::Tensor& t, int root_rank, const std::string& name = "");
Handle broadcast_async_(torch::Tensor& t, int root_rank, const std::string& name = "");

bool poll(Handle h);                  // true when done (successfully or not)
torch::Tensor synchronize(Handle h);  // waits; returns the output; throws hvd::Error

}  // namespace hvd
