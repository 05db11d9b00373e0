// Values each rank contributes, and the reductions of them computed in closed form, so every
// rank can check a collective's result on its own.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "horovod_cpp/horovod.h"

namespace hvd_test {

// Every dtype the API reduces, and every dtype it moves (bool too).
inline const std::vector<torch::ScalarType> kNumericDtypes = {
    torch::kUInt8,   torch::kInt8,     torch::kInt32,   torch::kInt64,
    torch::kFloat16, torch::kBFloat16, torch::kFloat32, torch::kFloat64};
inline const std::vector<torch::ScalarType> kEveryDtype = {
    torch::kUInt8,    torch::kInt8,    torch::kInt32,   torch::kInt64, torch::kFloat16,
    torch::kBFloat16, torch::kFloat32, torch::kFloat64, torch::kBool};

// Rank r contributes (r + 1) * (i % 3 + 1) at flat position i. Every partial sum or product
// of these over up to 4 ranks is 2^a * 3^b with b <= 5, so each is exact even in bfloat16.
inline torch::Tensor contribution(int rank, at::IntArrayRef shape, torch::ScalarType dtype) {
  const int64_t n = c10::multiply_integers(shape);
  auto i = torch::arange(n, torch::kInt64);
  return ((i.remainder(3) + 1) * (rank + 1)).to(dtype).reshape(shape);
}

inline torch::Tensor expected(hvd::ReduceOp op, int size, at::IntArrayRef shape,
                              torch::ScalarType dtype) {
  const int64_t n = c10::multiply_integers(shape);
  auto base = (torch::arange(n, torch::kInt64).remainder(3) + 1);
  const int64_t sum_of_weights = size * (size + 1) / 2;
  int64_t product_of_weights = 1;
  for (int r = 1; r <= size; ++r)
    product_of_weights *= r;
  torch::Tensor out;
  switch (op) {
    case hvd::ReduceOp::Sum:
      out = base * sum_of_weights;
      break;
    case hvd::ReduceOp::Average:
      out = torch::isFloatingType(dtype) ? base.to(torch::kFloat64) * sum_of_weights / size
                                         : torch::div(base * sum_of_weights, size, "trunc");
      break;
    case hvd::ReduceOp::Min:
      out = base;
      break;
    case hvd::ReduceOp::Max:
      out = base * size;
      break;
    case hvd::ReduceOp::Product:
      out = base.pow(size) * product_of_weights;
      break;
  }
  return out.to(dtype).reshape(shape);
}

inline bool matches(const torch::Tensor& got, const torch::Tensor& want) {
  if (got.scalar_type() != want.scalar_type() || got.sizes() != want.sizes())
    return false;
  if (torch::isFloatingType(want.scalar_type())) {
    return torch::allclose(got.to(torch::kFloat64), want.to(torch::kFloat64), 1e-6, 0);
  }
  return torch::equal(got, want);
}

}  // namespace hvd_test
