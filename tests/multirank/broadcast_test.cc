// Broadcast across real MPI ranks: every rank checks it received root's values.
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"

namespace {

using hvd_test::contribution;
using hvd_test::expect_error;

const std::vector<torch::ScalarType>& kDtypes = hvd_test::kEveryDtype;
const std::vector<std::vector<int64_t>> kShapes = {{}, {0}, {1}, {17}, {3, 4, 5}};

TEST(BroadcastTest, EveryDtypeShapeAndRoot) {
  const int rank = hvd::rank(), size = hvd::size();
  for (int root = 0; root < size; ++root) {
    for (auto dtype : kDtypes) {
      for (size_t s = 0; s < kShapes.size(); ++s) {
        const std::string name =
            "bcast." + std::to_string(root) + "." + c10::toString(dtype) + "." + std::to_string(s);
        auto mine = contribution(rank, kShapes[s], dtype);
        auto before = mine.clone();
        auto got = hvd::broadcast(mine, root, name);
        EXPECT_TRUE(torch::equal(got, contribution(root, kShapes[s], dtype))) << name;
        EXPECT_TRUE(torch::equal(mine, before)) << name << ": input must stay untouched";
      }
    }
  }
}

TEST(BroadcastTest, InPlaceIntoNonContiguousTensor) {
  const int rank = hvd::rank();
  auto base = contribution(rank, {4, 3}, torch::kFloat32);
  auto view = base.t();
  ASSERT_FALSE(view.is_contiguous());
  torch::Tensor& same = hvd::broadcast_(view, hvd::size() - 1, "bcast.noncontig");
  EXPECT_EQ(&same, &view);
  EXPECT_TRUE(torch::equal(base, contribution(hvd::size() - 1, {4, 3}, torch::kFloat32)));
}

TEST(BroadcastTest, AsyncInPlace) {
  auto t = contribution(hvd::rank(), {5}, torch::kInt64);
  auto out = hvd::synchronize(hvd::broadcast_async_(t, 0, "bcast.async"));
  EXPECT_TRUE(out.is_same(t));
  EXPECT_TRUE(torch::equal(t, contribution(0, {5}, torch::kInt64)));
}

TEST(BroadcastTest, RootRankOutOfRangeFailsLocally) {
  auto t = torch::ones({2});
  expect_error([&] { hvd::broadcast(t, -1, "bcast.neg"); }, {"root_rank -1 is out of range"});
  expect_error([&] { hvd::broadcast_(t, hvd::size(), "bcast.big"); },
               {"root_rank " + std::to_string(hvd::size()) + " is out of range [0, " +
                std::to_string(hvd::size()) + ")"});
}

TEST(BroadcastTest, RootRankMismatchFailsOnEveryRankThenNextOpWorks) {
  const int root = hvd::rank() == 1 ? 1 : 0;
  expect_error([&] { hvd::broadcast(torch::ones({2}), root, "bcast.roots"); },
               {"broadcast 'bcast.roots'", "root_rank", "rank 1 has 1"});
  auto ok = hvd::broadcast(contribution(hvd::rank(), {3}, torch::kFloat32), 1, "bcast.after");
  EXPECT_TRUE(torch::equal(ok, contribution(1, {3}, torch::kFloat32)));
}

TEST(BroadcastTest, ShapeMismatchFailsOnEveryRank) {
  const int64_t n = hvd::rank() == 0 ? 2 : 3;
  expect_error([&] { hvd::broadcast(torch::ones({n}), 0, "bcast.shape"); },
               {"'bcast.shape'", "shape", "rank 0 has [2]"});
}

TEST(BroadcastTest, SameNameForDifferentOpsFailsOnEveryRank) {
  auto t = torch::ones({2});
  if (hvd::rank() == 0) {
    expect_error([&] { hvd::allreduce(t, hvd::ReduceOp::Sum, "two.ops"); },
                 {"'two.ops'", "the operation", "rank 0 has allreduce", "broadcast"});
  } else {
    expect_error([&] { hvd::broadcast(t, 0, "two.ops"); },
                 {"'two.ops'", "the operation", "rank 0 has allreduce", "broadcast"});
  }
  auto ok = hvd::allreduce(t, hvd::ReduceOp::Sum, "two.ops.after");
  EXPECT_TRUE(torch::equal(ok, torch::full({2}, static_cast<float>(hvd::size()))));
}

}  // namespace
