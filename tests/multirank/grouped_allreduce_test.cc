// grouped_allreduce across real MPI ranks: results checked against closed-form reductions
// (rank_values.h); the group runs as one fused call; a bad member fails the whole group.
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"
#include "rank_values.h"

namespace {

using hvd_test::contribution;
using hvd_test::expect_error;

TEST(GroupedAllreduceTest, EveryDtypeAndOpInInputOrder) {
  const int rank = hvd::rank(), size = hvd::size();
  const std::vector<std::vector<int64_t>> shapes = {{5}, {2, 3}, {0}, {}};
  for (auto dtype : hvd_test::kNumericDtypes) {
    for (auto op : {hvd::ReduceOp::Sum, hvd::ReduceOp::Average, hvd::ReduceOp::Max}) {
      std::vector<torch::Tensor> inputs;
      for (const auto& shape : shapes)
        inputs.push_back(contribution(rank, shape, dtype));
      const std::string name =
          std::string("grp.") + c10::toString(dtype) + "." + std::to_string(static_cast<int>(op));
      auto got = hvd::grouped_allreduce(inputs, op, name);
      ASSERT_EQ(got.size(), shapes.size());
      for (size_t i = 0; i < shapes.size(); ++i) {
        EXPECT_TRUE(hvd_test::matches(got[i], hvd_test::expected(op, size, shapes[i], dtype)))
            << name << " member " << i;
      }
    }
  }
}

TEST(GroupedAllreduceTest, GroupRunsAsOneFusedCall) {
  const int rank = hvd::rank(), size = hvd::size();
  std::vector<torch::Tensor> inputs;
  for (int i = 0; i < 6; ++i)
    inputs.push_back(contribution(rank, {i + 1, 4}, torch::kFloat32));
  const hvd::Stats before = hvd::stats();
  auto got = hvd::grouped_allreduce(inputs, hvd::ReduceOp::Sum, "grp.fused");
  const hvd::Stats after = hvd::stats();
  EXPECT_EQ(after.allreduce_calls - before.allreduce_calls, 1);
  EXPECT_EQ(after.tensors_reduced - before.tensors_reduced, 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(torch::equal(
        got[i], hvd_test::expected(hvd::ReduceOp::Sum, size, {i + 1, 4}, torch::kFloat32)));
  }
}

TEST(GroupedAllreduceTest, UnnamedGroupsAndNonContiguousMembers) {
  const int rank = hvd::rank(), size = hvd::size();
  auto base = contribution(rank, {3, 4}, torch::kFloat64);
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto got = hvd::grouped_allreduce({base.t(), base}, hvd::ReduceOp::Sum);
    auto want = hvd_test::expected(hvd::ReduceOp::Sum, size, {3, 4}, torch::kFloat64);
    EXPECT_TRUE(torch::equal(got[0], want.t()));
    EXPECT_TRUE(torch::equal(got[1], want));
  }
}

TEST(GroupedAllreduceTest, DifferentSubmissionOrdersAcrossRanks) {
  const int rank = hvd::rank(), size = hvd::size();
  auto one = torch::ones({4});
  torch::Tensor async_result;
  std::vector<torch::Tensor> group;
  if (rank % 2 == 0) {
    auto h = hvd::allreduce_async(one, hvd::ReduceOp::Sum, "grp.order.single");
    group = hvd::grouped_allreduce({one, one}, hvd::ReduceOp::Sum, "grp.order");
    async_result = hvd::synchronize(h);
  } else {
    group = hvd::grouped_allreduce({one, one}, hvd::ReduceOp::Sum, "grp.order");
    async_result = hvd::allreduce(one, hvd::ReduceOp::Sum, "grp.order.single");
  }
  const auto want = torch::full({4}, size, torch::kFloat32);
  EXPECT_TRUE(torch::equal(async_result, want));
  EXPECT_TRUE(torch::equal(group[0], want));
  EXPECT_TRUE(torch::equal(group[1], want));
}

TEST(GroupedAllreduceTest, OneBadMemberFailsTheGroupOnEveryRankThenNextOpWorks) {
  const int64_t cols = hvd::rank() == 0 ? 3 : 4;
  expect_error(
      [&] {
        hvd::grouped_allreduce({torch::ones({2}), torch::ones({cols}), torch::ones({5})},
                               hvd::ReduceOp::Sum, "grp.bad");
      },
      {"grouped_allreduce 'grp.bad' did not run", "'grp.bad[1]'", "ranks disagree on shape",
       "rank 0 has [3]"});
  auto ok = hvd::grouped_allreduce({torch::ones({2})}, hvd::ReduceOp::Sum, "grp.bad");
  EXPECT_TRUE(torch::equal(ok[0], torch::full({2}, hvd::size(), torch::kFloat32)));
}

TEST(GroupedAllreduceTest, GroupSizeMismatchFailsOnEveryRank) {
  std::vector<torch::Tensor> inputs(hvd::rank() == 0 ? 2 : 3, torch::ones({2}));
  expect_error([&] { hvd::grouped_allreduce(inputs, hvd::ReduceOp::Sum, "grp.count"); },
               {"grp.count", "the group (grouped_allreduce)", "rank 0 has group 'grp.count' of 2"});
}

TEST(GroupedAllreduceTest, BoolMemberFailsLocallyAndNothingIsQueued) {
  expect_error(
      [] {
        hvd::grouped_allreduce({torch::ones({2}), torch::ones({2}, torch::kBool)});
      },
      {"tensor 1", "bool"});
  EXPECT_TRUE(hvd::grouped_allreduce({}).empty());
}

}  // namespace
