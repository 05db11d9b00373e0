// A first multi-rank program: allreduce real tensors of several dtypes with every reduce op
// and check each result against the value this rank computes on its own.
//   mpirun -np 2 ./allreduce_check
#include <horovod_cpp/torch.h>

#include <cstdio>

namespace {

// Rank r contributes (r + 1) * (i % 7 + 1) at position i: small integers, exact in every dtype.
torch::Tensor contribution(int rank, int64_t n, torch::ScalarType dtype) {
  auto i = torch::arange(n, torch::kInt64);
  return ((i.remainder(7) + 1) * (rank + 1)).to(dtype);
}

torch::Tensor expected(hvd::ReduceOp op, int size, int64_t n, torch::ScalarType dtype) {
  auto base = (torch::arange(n, torch::kInt64).remainder(7) + 1).to(torch::kFloat64);
  double sum_of_weights = size * (size + 1) / 2.0;
  double product_of_weights = 1;
  for (int r = 1; r <= size; ++r)
    product_of_weights *= r;
  torch::Tensor out;
  switch (op) {
    case hvd::ReduceOp::Sum:
      out = base * sum_of_weights;
      break;
    case hvd::ReduceOp::Average:
      out = base * sum_of_weights / size;
      if (!torch::isFloatingType(dtype))
        out = out.trunc();
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
  return out.to(dtype);
}

}  // namespace

int main() {
  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  const std::pair<hvd::ReduceOp, const char*> ops[] = {{hvd::ReduceOp::Sum, "Sum"},
                                                       {hvd::ReduceOp::Average, "Average"},
                                                       {hvd::ReduceOp::Min, "Min"},
                                                       {hvd::ReduceOp::Max, "Max"},
                                                       {hvd::ReduceOp::Product, "Product"}};
  const torch::ScalarType dtypes[] = {torch::kInt32,    torch::kInt64,   torch::kFloat16,
                                      torch::kBFloat16, torch::kFloat32, torch::kFloat64};
  int checked = 0, failed = 0;
  for (auto dtype : dtypes) {
    for (auto [op, op_name] : ops) {
      const int64_t n = 1000;
      torch::Tensor result = hvd::allreduce(contribution(rank, n, dtype), op);
      const bool ok = torch::equal(result, expected(op, size, n, dtype));
      ++checked;
      if (!ok) {
        ++failed;
        std::printf("rank %d: MISMATCH %s %s\n", rank, c10::toString(dtype), op_name);
      }
    }
  }
  // Agree on the verdict: every rank's failures, summed by the runtime itself.
  auto failures = hvd::allreduce(torch::tensor({failed}, torch::kInt64), hvd::ReduceOp::Sum);
  if (rank == 0) {
    std::printf("allreduce_check: %d ranks, %d dtype x op combinations per rank, %lld failures\n",
                size, checked, static_cast<long long>(failures.item<int64_t>()));
    std::printf("%s\n", failures.item<int64_t>() == 0 ? "OK: every rank got the values it computed"
                                                      : "FAILED");
  }
  hvd::shutdown();
  return failures.item<int64_t>() == 0 ? 0 : 1;
}
