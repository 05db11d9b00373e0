// Reducescatter across real MPI ranks: every rank computes the full reduction in closed form
// (rank_values.h) and checks that it received exactly its block of rows.
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"

namespace {

using hvd_test::contribution;
using hvd_test::expect_error;

// Rows of `rows` that `rank` receives, and where they start: the first rows % size ranks get
// one extra row.
std::pair<int64_t, int64_t> block_of(int64_t rows, int rank, int size) {
  int64_t start = 0;
  for (int r = 0; r < rank; ++r)
    start += rows / size + (r < rows % size ? 1 : 0);
  return {start, rows / size + (rank < rows % size ? 1 : 0)};
}

TEST(ReducescatterTest, SumAndAverageEveryDtypeEvenUnevenAndEmpty) {
  const int rank = hvd::rank(), size = hvd::size();
  const std::vector<std::vector<int64_t>> shapes = {{2 * size + 1, 3}, {size, 2},    {1}, {0, 4},
                                                    {size + 2},        {3 * size, 0}};
  for (auto dtype : hvd_test::kNumericDtypes) {
    for (auto op : {hvd::ReduceOp::Sum, hvd::ReduceOp::Average}) {
      for (size_t k = 0; k < shapes.size(); ++k) {
        const std::string name = std::string("rs.") + c10::toString(dtype) +
                                 (op == hvd::ReduceOp::Sum ? ".sum." : ".avg.") + std::to_string(k);
        auto got = hvd::reducescatter(contribution(rank, shapes[k], dtype), op, name);
        auto [start, rows] = block_of(shapes[k][0], rank, size);
        auto want = hvd_test::expected(op, size, shapes[k], dtype).narrow(0, start, rows);
        EXPECT_TRUE(hvd_test::matches(got, want)) << name << "\ngot " << got << "\nwant " << want;
      }
    }
  }
}

TEST(ReducescatterTest, NonContiguousInput) {
  const int rank = hvd::rank(), size = hvd::size();
  auto base = contribution(rank, {3, 2 * size + 1}, torch::kFloat32);
  auto got = hvd::reducescatter(base.t(), hvd::ReduceOp::Sum, "rs.transposed");
  auto full = hvd_test::expected(hvd::ReduceOp::Sum, size, {3, 2 * size + 1}, torch::kFloat32).t();
  auto [start, rows] = block_of(2 * size + 1, rank, size);
  EXPECT_TRUE(torch::equal(got, full.narrow(0, start, rows)));
}

TEST(ReducescatterTest, ShapeMismatchFailsOnEveryRankThenNextOpWorks) {
  const int64_t rows = hvd::rank() == 0 ? 4 : 5;
  expect_error(
      [&] {
        hvd::reducescatter(torch::ones({rows, 2}), hvd::ReduceOp::Sum, "rs.shape");
      },
      {"reducescatter 'rs.shape'", "ranks disagree on shape", "rank 0 has [4, 2]"});
  auto ok = hvd::reducescatter(torch::ones({hvd::size()}), hvd::ReduceOp::Sum, "rs.after");
  EXPECT_TRUE(torch::equal(ok, torch::full({1}, hvd::size(), torch::kFloat32)));
}

TEST(ReducescatterTest, MinAndMaxAreRejectedOnEveryRank) {
  for (auto op : {hvd::ReduceOp::Min, hvd::ReduceOp::Max, hvd::ReduceOp::Product}) {
    expect_error([&] { hvd::reducescatter(torch::ones({4}), op, "rs.minmax"); },
                 {"reducescatter 'rs.minmax'", "is not supported (Sum or Average only)"});
  }
}

TEST(ReducescatterTest, DtypeMismatchFailsOnEveryRank) {
  auto dtype = hvd::rank() == 0 ? torch::kFloat32 : torch::kFloat64;
  expect_error([&] { hvd::reducescatter(torch::ones({4}, dtype), hvd::ReduceOp::Sum, "rs.dt"); },
               {"'rs.dt'", "dtype", "rank 0 has float32"});
}

TEST(ReducescatterTest, BoolAndScalarFailLocally) {
  expect_error([] { hvd::reducescatter(torch::ones({4}, torch::kBool)); }, {"bool"});
  expect_error([] { hvd::reducescatter(torch::tensor(1.0)); }, {"scalar"});
}

}  // namespace
