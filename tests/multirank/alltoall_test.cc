// Alltoall across real MPI ranks: rank s sends (s + d) % 3 rows to rank d, each row filled
// with 10 * s + d, so every rank can compute what it must receive from whom.
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"

namespace {

using hvd_test::expect_error;

int64_t rows_sent(int source, int dest) {
  return (source + dest) % 3;
}

// The rows rank `source` sends to rank `dest`, with trailing dims `trailing`.
torch::Tensor block(int source, int dest, std::vector<int64_t> trailing, torch::ScalarType dtype) {
  trailing.insert(trailing.begin(), rows_sent(source, dest));
  const int64_t value = 10 * source + dest;
  return torch::full(trailing, dtype == torch::kBool ? value % 2 : value, torch::kInt64).to(dtype);
}

TEST(AlltoallTest, UnevenSplitsEveryDtype) {
  const int rank = hvd::rank(), size = hvd::size();
  const std::vector<std::vector<int64_t>> trailing_dims = {{}, {2}, {2, 3}, {0}};
  for (auto dtype : hvd_test::kEveryDtype) {
    for (size_t k = 0; k < trailing_dims.size(); ++k) {
      std::vector<torch::Tensor> mine, expected;
      std::vector<int64_t> splits, expected_splits;
      for (int peer = 0; peer < size; ++peer) {
        mine.push_back(block(rank, peer, trailing_dims[k], dtype));
        splits.push_back(rows_sent(rank, peer));
        expected.push_back(block(peer, rank, trailing_dims[k], dtype));
        expected_splits.push_back(rows_sent(peer, rank));
      }
      const std::string name = std::string("a2a.") + c10::toString(dtype) + "." + std::to_string(k);
      auto [got, received] = hvd::alltoall(torch::cat(mine), torch::tensor(splits), name);
      EXPECT_TRUE(torch::equal(got, torch::cat(expected))) << name;
      EXPECT_TRUE(torch::equal(received, torch::tensor(expected_splits))) << name;
    }
  }
}

TEST(AlltoallTest, NoSplitsSendsEqualShares) {
  const int rank = hvd::rank(), size = hvd::size();
  // Rank r's row j is 100 * r + j: rows [2d, 2d + 2) go to rank d.
  auto input = (torch::arange(2 * size, torch::kInt32) + 100 * rank).reshape({2 * size, 1});
  auto [got, received] = hvd::alltoall(input, torch::Tensor(), "a2a.even");
  std::vector<torch::Tensor> expected;
  for (int source = 0; source < size; ++source)
    expected.push_back(
        torch::tensor({100 * source + 2 * rank, 100 * source + 2 * rank + 1}, torch::kInt32));
  EXPECT_TRUE(torch::equal(got, torch::cat(expected).reshape({2 * size, 1})));
  EXPECT_TRUE(torch::equal(received, torch::full({size}, 2, torch::kInt64)));
}

TEST(AlltoallTest, EmptyAndNonContiguousInputs) {
  const int rank = hvd::rank(), size = hvd::size();
  auto [empty, none] =
      hvd::alltoall(torch::zeros({0, 3}), torch::zeros({size}, torch::kInt32), "a2a.empty");
  EXPECT_EQ(empty.sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(torch::equal(none, torch::zeros({size}, torch::kInt64)));
  // A transposed [size, 2] view: row d (one per destination) is {rank, d}.
  auto base = torch::stack({torch::full({size}, rank, torch::kInt64), torch::arange(size)});
  auto [got, received] = hvd::alltoall(base.t(), torch::Tensor(), "a2a.transposed");
  auto want = torch::stack({torch::arange(size), torch::full({size}, rank, torch::kInt64)}).t();
  EXPECT_TRUE(torch::equal(got, want));
}

TEST(AlltoallTest, BadSplitsOnOneRankFailOnEveryRankThenNextOpWorks) {
  const int rank = hvd::rank(), size = hvd::size();
  const int last = size - 1;
  auto input = torch::ones({size, 2});
  auto even = torch::ones({size}, torch::kInt64);
  auto wrong_sum = even.clone();
  wrong_sum[0] = 2;
  expect_error([&] { hvd::alltoall(input, rank == last ? wrong_sum : even, "a2a.sum"); },
               {"alltoall 'a2a.sum'", "rank " + std::to_string(last) + ": splits sum to " +
                                          std::to_string(size + 1) + " but dim 0 is " +
                                          std::to_string(size)});
  expect_error(
      [&] {
        hvd::alltoall(input, rank == 0 ? torch::ones({size + 1}, torch::kInt64) : even,
                      "a2a.length");
      },
      {"alltoall 'a2a.length'",
       "rank 0: " + std::to_string(size + 1) + " splits for " + std::to_string(size) + " ranks"});
  auto negative = even.clone();
  negative[0] = -1;
  negative[1] = 1 + even[1].item<int64_t>();
  expect_error([&] { hvd::alltoall(input, rank == last ? negative : even, "a2a.negative"); },
               {"alltoall 'a2a.negative'", "split 0 is negative (-1)"});
  auto uneven = torch::ones({rank == last ? size + 1 : size, 2});
  expect_error([&] { hvd::alltoall(uneven, torch::Tensor(), "a2a.uneven"); },
               {"alltoall 'a2a.uneven'", "rank " + std::to_string(last) + ": dim 0 of " +
                                             std::to_string(size + 1) + " does not divide evenly"});
  auto [ok, received] = hvd::alltoall(input, even, "a2a.after");
  EXPECT_TRUE(torch::equal(ok, torch::ones({size, 2})));
}

TEST(AlltoallTest, TrailingDimMismatchFailsOnEveryRank) {
  const int size = hvd::size();
  const int64_t cols = hvd::rank() == 0 ? 2 : 3;
  expect_error(
      [&] {
        hvd::alltoall(torch::ones({size, cols}), torch::Tensor(), "a2a.cols");
      },
      {"alltoall 'a2a.cols'", "dimensions after dim 0", "rank 0 has [*, 2]"});
}

TEST(AlltoallTest, BadSplitsTensorAndScalarFailLocally) {
  expect_error([] { hvd::alltoall(torch::ones({2}), torch::ones({2}), "a2a.float"); },
               {"splits must be a 1-D integer tensor", "Float"});
  expect_error(
      [] {
        hvd::alltoall(torch::ones({2}), torch::ones({1, 2}, torch::kInt64));
      },
      {"splits must be a 1-D integer tensor"});
  expect_error([] { hvd::alltoall(torch::tensor(1.0)); }, {"scalar"});
}

}  // namespace
