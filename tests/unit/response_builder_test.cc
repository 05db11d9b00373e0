#include "horovod_cpp/response_builder.h"

#include <gtest/gtest.h>

#include "horovod_cpp/rank_ranges.h"

namespace hvd {
namespace {

std::vector<Request> same_on(int size) {
  std::vector<Request> out(size);
  for (int r = 0; r < size; ++r) {
    out[r].rank = r;
    out[r].name = "fc1.weight";
    out[r].shape = {4, 2};
  }
  return out;
}

TEST(RankRangesTest, CompressesRuns) {
  EXPECT_EQ(describe_ranks({3}), "rank 3");
  EXPECT_EQ(describe_ranks({0, 2, 3, 4, 5, 7}), "ranks 0, 2-5, 7");
  EXPECT_EQ(describe_ranks({5, 1, 2}), "ranks 1-2, 5");
}

TEST(ResponseBuilderTest, AgreementGivesAnAllreduce) {
  Response r = build_response(same_on(3));
  EXPECT_EQ(r.type, ResponseType::Allreduce);
  EXPECT_EQ(r.names, (std::vector<std::string>{"fc1.weight"}));
  EXPECT_EQ(r.element_counts, (std::vector<std::int64_t>{8}));
}

TEST(ResponseBuilderTest, ShapeMismatchNamesTensorRanksAndShapes) {
  auto requests = same_on(4);
  requests[1].shape = {4, 3};
  requests[3].shape = {4, 3};
  Response r = build_response(requests);
  ASSERT_EQ(r.type, ResponseType::Error);
  EXPECT_EQ(r.error_message,
            "allreduce 'fc1.weight': ranks disagree on shape: ranks 0, 2 have [4, 2]; ranks 1, 3 "
            "have [4, 3]");
}

TEST(ResponseBuilderTest, DtypeReduceOpAndScaleMismatches) {
  auto requests = same_on(2);
  requests[1].dtype = DataType::Int32;
  EXPECT_EQ(build_response(requests).error_message,
            "allreduce 'fc1.weight': ranks disagree on dtype: rank 0 has float32; rank 1 has "
            "int32");
  requests = same_on(2);
  requests[0].reduce_op = ReduceOp::Max;
  EXPECT_EQ(build_response(requests).error_message,
            "allreduce 'fc1.weight': ranks disagree on the reduce op: rank 0 has Max; rank 1 has "
            "Sum");
  requests = same_on(2);
  requests[1].prescale = 0.5;
  EXPECT_EQ(build_response(requests).error_message,
            "allreduce 'fc1.weight': ranks disagree on prescale_factor: rank 0 has 1; rank 1 has "
            "0.5");
  requests = same_on(2);
  requests[1].postscale = 2;
  EXPECT_NE(build_response(requests).error_message.find("postscale_factor"), std::string::npos);
  requests = same_on(2);
  requests[1].device = 0;
  EXPECT_NE(build_response(requests).error_message.find("device kind: rank 0 has CPU; rank 1 "
                                                        "has GPU"),
            std::string::npos);
}

TEST(ResponseBuilderTest, OverflowingShapeIsAnError) {
  auto requests = same_on(1);
  requests[0].shape = {1LL << 40, 1LL << 40};
  Response r = build_response(requests);
  ASSERT_EQ(r.type, ResponseType::Error);
  EXPECT_NE(r.error_message.find("overflows"), std::string::npos);
}

std::vector<Request> op_on(OpType op, int size) {
  auto requests = same_on(size);
  for (auto& r : requests)
    r.op = op;
  return requests;
}

TEST(ResponseBuilderTest, BroadcastChecksRootAndShape) {
  auto requests = op_on(OpType::Broadcast, 3);
  for (auto& r : requests)
    r.root_rank = 2;
  Response ok = build_response(requests);
  EXPECT_EQ(ok.type, ResponseType::Broadcast);
  EXPECT_EQ(ok.root_rank, 2);
  requests[0].root_rank = 1;
  EXPECT_EQ(build_response(requests).error_message,
            "broadcast 'fc1.weight': ranks disagree on root_rank: rank 0 has 1; ranks 1-2 have 2");
}

TEST(ResponseBuilderTest, AllgatherAllowsDifferentDim0ButNotTrailingDims) {
  auto requests = op_on(OpType::Allgather, 3);
  requests[0].shape = {0, 2};
  requests[1].shape = {5, 2};
  requests[2].shape = {1, 2};
  Response ok = build_response(requests);
  ASSERT_EQ(ok.type, ResponseType::Allgather);
  EXPECT_EQ(ok.dim0_by_rank, (std::vector<std::int64_t>{0, 5, 1}));
  EXPECT_EQ(ok.element_counts, (std::vector<std::int64_t>{12}));
  requests[2].shape = {1, 3};
  EXPECT_EQ(build_response(requests).error_message,
            "allgather 'fc1.weight': ranks disagree on the dimensions after dim 0: ranks 0-1 "
            "have [*, 2]; rank 2 has [*, 3]");
  requests[2].shape = {1, 2, 1};
  EXPECT_NE(build_response(requests).error_message.find("rank 2 has [*, 2, 1]"), std::string::npos);
}

TEST(ResponseBuilderTest, DifferentOpsUnderOneNameIsAnError) {
  auto requests = same_on(2);
  requests[1].op = OpType::Broadcast;
  EXPECT_EQ(build_response(requests).error_message,
            "allreduce 'fc1.weight': ranks disagree on the operation: rank 0 has allreduce; "
            "rank 1 has broadcast");
}

std::vector<Request> alltoall_on(int size, std::int64_t rows) {
  auto requests = same_on(size);
  for (auto& r : requests) {
    r.op = OpType::Alltoall;
    r.shape = {rows, 3};
  }
  return requests;
}

TEST(ResponseBuilderTest, AlltoallChecksEveryRanksSplits) {
  auto requests = alltoall_on(3, 6);
  Response ok = build_response(requests);  // no splits: 6 rows divide over 3 ranks
  EXPECT_EQ(ok.type, ResponseType::Alltoall);
  EXPECT_EQ(ok.element_counts, (std::vector<std::int64_t>{3}));  // elements per row
  requests[0].splits = {1, 2, 3};
  requests[1].splits = {1, 2};
  requests[2].splits = {4, 4, -2};
  EXPECT_EQ(
      build_response(requests).error_message,
      "alltoall 'fc1.weight': rank 1: 2 splits for 3 ranks; rank 2: split 2 is negative (-2)");
  requests[1].splits = {0, 0, 5};
  requests[2].splits = {2, 2, 2};
  EXPECT_EQ(build_response(requests).error_message,
            "alltoall 'fc1.weight': rank 1: splits sum to 5 but dim 0 is 6");
  requests = alltoall_on(4, 6);
  requests[2].shape = {8, 3};
  EXPECT_EQ(build_response(requests).error_message,
            "alltoall 'fc1.weight': rank 0: dim 0 of 6 does not divide evenly over 4 ranks and "
            "no splits were given; rank 1: dim 0 of 6 does not divide evenly over 4 ranks and no "
            "splits were given; rank 3: dim 0 of 6 does not divide evenly over 4 ranks and no "
            "splits were given");
  requests = alltoall_on(2, 2);
  requests[0].splits = {INT64_MAX, 2};
  EXPECT_NE(build_response(requests).error_message.find("overflow"), std::string::npos);
}

TEST(ResponseBuilderTest, ReducescatterAllowsSumAndAverageOnly) {
  auto requests = same_on(2);
  for (auto& r : requests) {
    r.op = OpType::Reducescatter;
    r.reduce_op = ReduceOp::Average;
  }
  Response ok = build_response(requests);
  EXPECT_EQ(ok.type, ResponseType::Reducescatter);
  EXPECT_EQ(ok.reduce_op, ReduceOp::Average);
  for (auto& r : requests)
    r.reduce_op = ReduceOp::Max;
  EXPECT_EQ(build_response(requests).error_message,
            "reducescatter 'fc1.weight': reduce op Max is not supported (Sum or Average only)");
  requests[1].shape = {4, 3};
  EXPECT_NE(build_response(requests).error_message.find("ranks disagree on shape"),
            std::string::npos);
}

TEST(ResponseBuilderTest, GroupMembershipMustAgree) {
  auto requests = same_on(2);
  requests[0].group = "g";
  requests[0].group_size = 2;
  EXPECT_EQ(build_response(requests).error_message,
            "allreduce 'fc1.weight': ranks disagree on the group (grouped_allreduce): rank 0 has "
            "group 'g' of 2; rank 1 has no group");
}

}  // namespace
}  // namespace hvd
