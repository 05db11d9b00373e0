// Allgather across real MPI ranks: rank r contributes r + 1 rows (rank 0 none in one case);
// every rank checks the concatenation it computes itself.
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"

namespace {

using hvd_test::contribution;
using hvd_test::expect_error;

const std::vector<torch::ScalarType>& kDtypes = hvd_test::kEveryDtype;

std::vector<int64_t> with_rows(int64_t rows, std::vector<int64_t> trailing) {
  trailing.insert(trailing.begin(), rows);
  return trailing;
}

TEST(AllgatherTest, UnevenRowsEveryDtype) {
  const int rank = hvd::rank(), size = hvd::size();
  const std::vector<std::vector<int64_t>> trailing_dims = {{}, {3}, {2, 3}, {0}};
  for (auto dtype : kDtypes) {
    for (size_t k = 0; k < trailing_dims.size(); ++k) {
      const std::string name =
          std::string("gather.") + c10::toString(dtype) + "." + std::to_string(k);
      auto got =
          hvd::allgather(contribution(rank, with_rows(rank + 1, trailing_dims[k]), dtype), name);
      std::vector<torch::Tensor> parts;
      for (int r = 0; r < size; ++r) {
        parts.push_back(contribution(r, with_rows(r + 1, trailing_dims[k]), dtype));
      }
      EXPECT_TRUE(torch::equal(got, torch::cat(parts, 0))) << name;
    }
  }
}

TEST(AllgatherTest, RankWithNoRowsAndNonContiguousInput) {
  const int rank = hvd::rank(), size = hvd::size();
  // rank r holds r rows of a transposed (non-contiguous) [rows, 2] view.
  auto base = contribution(rank, {2, rank}, torch::kFloat32);
  auto view = base.t();
  auto got = hvd::allgather(view, "gather.sparse");
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size; ++r)
    parts.push_back(contribution(r, {2, r}, torch::kFloat32).t());
  EXPECT_TRUE(torch::equal(got, torch::cat(parts, 0)));
}

TEST(AllgatherTest, AsyncThenSynchronize) {
  auto h = hvd::allgather_async(torch::full({1}, hvd::rank(), torch::kInt32), "gather.async");
  auto got = hvd::synchronize(h);
  EXPECT_TRUE(torch::equal(got, torch::arange(hvd::size(), torch::kInt32)));
}

TEST(AllgatherTest, TrailingDimMismatchFailsOnEveryRankThenNextOpWorks) {
  const int64_t cols = hvd::rank() == 0 ? 4 : 5;
  expect_error(
      [&] {
        hvd::allgather(torch::ones({2, cols}), "gather.cols");
      },
      {"allgather 'gather.cols'", "dimensions after dim 0", "rank 0 has [*, 4]"});
  auto ok = hvd::allgather(torch::ones({1, 2}), "gather.after");
  EXPECT_EQ(ok.size(0), hvd::size());
}

TEST(AllgatherTest, DtypeMismatchFailsOnEveryRank) {
  auto dtype = hvd::rank() == 0 ? torch::kInt32 : torch::kInt64;
  expect_error([&] { hvd::allgather(torch::ones({2}, dtype), "gather.dtype"); },
               {"'gather.dtype'", "dtype", "rank 0 has int32"});
}

TEST(AllgatherTest, ScalarFailsLocally) {
  expect_error([] { hvd::allgather(torch::tensor(3.0), "gather.scalar"); }, {"scalar"});
}

TEST(AllgatherTest, ManyReadyAtOnceAreFusedAndEachIsCorrect) {
  const int rank = hvd::rank(), size = hvd::size();
  const hvd::Stats before = hvd::stats();
  constexpr int kTensors = 8;
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    // Tensor t: rank r contributes (r + t) % 3 rows of t + 1 columns; submitted in opposite
    // orders on even and odd ranks.
    std::vector<hvd::Handle> handles(kTensors);
    for (int k = 0; k < kTensors; ++k) {
      const int t = rank % 2 == 0 ? k : kTensors - 1 - k;
      handles[t] =
          hvd::allgather_async(contribution(rank, {(rank + t) % 3, t + 1}, torch::kInt32),
                               "gather.fused." + std::to_string(round) + "." + std::to_string(t));
    }
    for (int t = 0; t < kTensors; ++t) {
      std::vector<torch::Tensor> parts;
      for (int r = 0; r < size; ++r)
        parts.push_back(contribution(r, {(r + t) % 3, t + 1}, torch::kInt32));
      EXPECT_TRUE(torch::equal(hvd::synchronize(handles[t]), torch::cat(parts, 0)))
          << "round " << round << " tensor " << t;
    }
  }
  const hvd::Stats after = hvd::stats();
  // Each round submits 8 tensors within microseconds while a negotiation round takes tens:
  // over 10 rounds, some are certain to share a call.
  EXPECT_GE(after.fused_allgather_calls - before.fused_allgather_calls, 1);
  EXPECT_LT(after.allgather_calls - before.allgather_calls, kTensors * kRounds);
}

TEST(AllgatherTest, MixedKindsInOppositeOrdersOnDifferentRanks) {
  const int rank = hvd::rank(), size = hvd::size();
  auto gathered_in = torch::full({1}, rank, torch::kInt64);
  auto broadcast_in = torch::full({2}, rank, torch::kFloat64);
  auto reduced_in = torch::full({2}, rank + 1, torch::kFloat32);
  hvd::Handle gather, bcast, reduce;
  if (rank % 2 == 0) {
    gather = hvd::allgather_async(gathered_in, "mixed.gather");
    bcast = hvd::broadcast_async_(broadcast_in, size - 1, "mixed.bcast");
    reduce = hvd::allreduce_async(reduced_in, hvd::ReduceOp::Sum, "mixed.reduce");
  } else {
    reduce = hvd::allreduce_async(reduced_in, hvd::ReduceOp::Sum, "mixed.reduce");
    bcast = hvd::broadcast_async_(broadcast_in, size - 1, "mixed.bcast");
    gather = hvd::allgather_async(gathered_in, "mixed.gather");
  }
  EXPECT_TRUE(torch::equal(hvd::synchronize(reduce),
                           torch::full({2}, size * (size + 1) / 2, torch::kFloat32)));
  EXPECT_TRUE(torch::equal(hvd::synchronize(bcast), torch::full({2}, size - 1, torch::kFloat64)));
  EXPECT_TRUE(torch::equal(hvd::synchronize(gather), torch::arange(size, torch::kInt64)));
}

}  // namespace
