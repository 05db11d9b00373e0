#include "horovod_cpp/coordinator.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace hvd {
namespace {

Request request(int rank, const std::string& name, std::vector<std::int64_t> shape = {3}) {
  Request r;
  r.rank = rank;
  r.name = name;
  r.shape = std::move(shape);
  return r;
}

RequestList list_of(std::vector<Request> requests) {
  RequestList l;
  l.requests = std::move(requests);
  return l;
}

std::vector<std::vector<std::string>> groups(const ResponseList& list) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : list.responses)
    out.push_back(r.names);
  return out;
}

TEST(CoordinatorTest, NameIsReadyOnlyWhenEveryRankSubmitted) {
  Coordinator c(3, 1 << 20);
  auto first = c.compute({list_of({request(0, "x")}), list_of({request(1, "x")}), {}});
  EXPECT_TRUE(first.responses.empty());
  EXPECT_TRUE(first.progress);  // requests arrived
  EXPECT_FALSE(c.compute({{}, {}, {}}).progress);
  EXPECT_EQ(c.pending_count(), 1u);
  auto second = c.compute({{}, {}, list_of({request(2, "x")})});
  EXPECT_EQ(groups(second), (std::vector<std::vector<std::string>>{{"x"}}));
  EXPECT_EQ(c.pending_count(), 0u);
}

TEST(CoordinatorTest, DifferentSubmissionOrdersGiveOneDeterministicOrder) {
  Coordinator c(2, 0);  // no fusion, so the order is visible
  auto out = c.compute({list_of({request(0, "a"), request(0, "b"), request(0, "c")}),
                        list_of({request(1, "c"), request(1, "a"), request(1, "b")})});
  // Completed by rank 1's requests in its order.
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"c"}, {"a"}, {"b"}}));
}

TEST(CoordinatorTest, ReadyTensorsAreFused) {
  Coordinator c(2, 1 << 20);
  auto out = c.compute(
      {list_of({request(0, "a"), request(0, "b")}), list_of({request(1, "a"), request(1, "b")})});
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"a", "b"}}));
}

TEST(CoordinatorTest, MismatchBecomesErrorAndLaterTensorsStillWork) {
  Coordinator c(2, 1 << 20);
  auto out = c.compute({list_of({request(0, "bad", {2})}), list_of({request(1, "bad", {3})})});
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].type, ResponseType::Error);
  auto next = c.compute({list_of({request(0, "good")}), list_of({request(1, "good")})});
  ASSERT_EQ(next.responses.size(), 1u);
  EXPECT_EQ(next.responses[0].type, ResponseType::Allreduce);
}

TEST(CoordinatorTest, ShutdownRanksAreReported) {
  Coordinator c(3, 0);
  RequestList stopping;
  stopping.shutdown = true;
  stopping.shutdown_reason = "hvd::shutdown() was called";
  RequestList failing = stopping;
  failing.shutdown_reason = "uncaught exception std::runtime_error: boom";
  auto out = c.compute({{}, stopping, failing});
  EXPECT_EQ(out.shutdown_ranks, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(out.shutdown_reasons,
            (std::vector<std::string>{stopping.shutdown_reason, failing.shutdown_reason}));
}

TEST(CoordinatorTest, SecondSubmissionFromOneRankIsAnError) {
  Coordinator c(2, 0);
  auto out = c.compute({list_of({request(0, "x"), request(0, "x")}), {}});
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].type, ResponseType::Error);
  EXPECT_NE(out.responses[0].error_message.find("rank 0 submitted it twice"), std::string::npos);
}

Request join_request(int rank) {
  Request r;
  r.rank = rank;
  r.op = OpType::Join;
  r.name = kJoinName;
  return r;
}

Request member(int rank, const std::string& group, int index, int size,
               std::vector<std::int64_t> shape = {3}) {
  Request r = request(rank, group + "[" + std::to_string(index) + "]", std::move(shape));
  r.group = group;
  r.group_size = size;
  r.group_index = index;
  return r;
}

TEST(CoordinatorTest, JoinedRanksCompleteAllreducesAndJoinReportsTheLastRank) {
  Coordinator c(3, 0);
  // Rank 2 joins first; "x" then needs only ranks 0 and 1.
  auto out = c.compute({list_of({request(0, "x")}), {}, list_of({join_request(2)})});
  EXPECT_TRUE(out.responses.empty());
  out = c.compute({{}, list_of({request(1, "x")}), {}});
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"x"}}));
  // "y" waits only for rank 1; rank 0 joining in the same cycle completes it, then the join.
  out = c.compute({list_of({join_request(0)}), list_of({request(1, "y")}), {}});
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"y"}}));
  out = c.compute({{}, list_of({join_request(1)}), {}});
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].type, ResponseType::Join);
  EXPECT_EQ(out.responses[0].root_rank, 1);
  // The join state resets: "z" needs every rank again.
  out = c.compute({list_of({request(0, "z")}), list_of({request(1, "z")}), {}});
  EXPECT_TRUE(out.responses.empty());
}

TEST(CoordinatorTest, PendingNamesCompletedByAJoinKeepSubmissionOrder) {
  Coordinator c(2, 0);
  c.compute({list_of({request(0, "b"), request(0, "a"), request(0, "c")}), {}});
  auto out = c.compute({{}, list_of({join_request(1)})});
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"b"}, {"a"}, {"c"}}));
}

TEST(CoordinatorTest, OnlyAllreduceRunsWhileRanksAreJoined) {
  Coordinator c(2, 0);
  Request gather = request(0, "g", {2});
  gather.op = OpType::Allgather;
  auto out = c.compute({list_of({gather}), list_of({join_request(1)})});
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].type, ResponseType::Error);
  EXPECT_EQ(out.responses[0].error_message,
            "allgather 'g': cannot run while rank 1 has joined (hvd::join); only allreduce can, "
            "with joined ranks contributing zeros");
}

TEST(CoordinatorTest, GroupIsReleasedWholeInMemberOrder) {
  Coordinator c(2, 0);
  auto out = c.compute({list_of({member(0, "g", 0, 3), member(0, "g", 1, 3), member(0, "g", 2, 3)}),
                        list_of({member(1, "g", 2, 3), member(1, "g", 0, 3)})});
  EXPECT_TRUE(out.responses.empty());  // g[1] is missing on rank 1: nothing runs yet
  out = c.compute({{}, list_of({member(1, "g", 1, 3)})});
  EXPECT_EQ(groups(out), (std::vector<std::vector<std::string>>{{"g[0]"}, {"g[1]"}, {"g[2]"}}));
}

TEST(CoordinatorTest, GroupFusesAsOneCall) {
  Coordinator c(2, 1 << 20);
  std::vector<RequestList> lists(2);
  for (int rank = 0; rank < 2; ++rank) {
    for (int i = 0; i < 4; ++i)
      lists[rank].requests.push_back(member(rank, "g", i, 4));
  }
  EXPECT_EQ(groups(c.compute(lists)),
            (std::vector<std::vector<std::string>>{{"g[0]", "g[1]", "g[2]", "g[3]"}}));
}

TEST(CoordinatorTest, OneFailingMemberFailsTheWholeGroupOnEveryRank) {
  Coordinator c(2, 0);
  auto out =
      c.compute({list_of({member(0, "g", 0, 3), member(0, "g", 1, 3, {4}), member(0, "g", 2, 3)}),
                 list_of({member(1, "g", 0, 3), member(1, "g", 1, 3, {5})})});
  ASSERT_EQ(out.responses.size(), 3u);
  for (const Response& r : out.responses)
    EXPECT_EQ(r.type, ResponseType::Error) << r.names.front();
  EXPECT_EQ(out.responses[0].names.front(), "g[1]");  // the cause first
  EXPECT_NE(out.responses[0].error_message.find("ranks disagree on shape"), std::string::npos);
  EXPECT_NE(out.responses[1].error_message.find("grouped_allreduce 'g' did not run"),
            std::string::npos);
  EXPECT_EQ(c.pending_count(), 0u);  // g[2], which rank 1 never sent, failed too
}

TEST(CoordinatorTest, GroupSizeDisagreementFailsEveryMember) {
  Coordinator c(2, 0);
  auto out =
      c.compute({list_of({member(0, "g", 0, 2), member(0, "g", 1, 2)}),
                 list_of({member(1, "g", 0, 3), member(1, "g", 1, 3), member(1, "g", 2, 3)})});
  std::vector<std::string> failed;
  for (const Response& r : out.responses) {
    EXPECT_EQ(r.type, ResponseType::Error);
    failed.push_back(r.names.front());
  }
  std::sort(failed.begin(), failed.end());
  EXPECT_EQ(failed, (std::vector<std::string>{"g[0]", "g[1]", "g[2]"}));
  EXPECT_NE(out.responses[0].error_message.find("group 'g' of 2"), std::string::npos);
  EXPECT_EQ(c.pending_count(), 0u);
}

// Found by tests/fuzz/message_fuzzer: a forged group size made rank 0 allocate that many
// members, and a member of a conflicting size was written past the end of the group.
TEST(CoordinatorTest, ForgedGroupSizesFailTheGroupWithoutHarm) {
  Coordinator c(2, 0);
  const int huge = 2'000'000'000;
  auto held = c.compute({list_of({member(0, "g", 0, huge)}), list_of({member(1, "g", 0, huge)})});
  EXPECT_TRUE(held.responses.empty());  // held, waiting for members that will never come
  auto out = c.compute({list_of({member(0, "g", 5, 6)}), list_of({member(1, "g", 5, 6)})});
  std::vector<std::string> failed;
  for (const Response& r : out.responses) {
    EXPECT_EQ(r.type, ResponseType::Error);
    failed.push_back(r.names.front());
  }
  std::sort(failed.begin(), failed.end());
  EXPECT_EQ(failed, (std::vector<std::string>{"g[0]", "g[5]"}));
  EXPECT_NE(out.responses[0].error_message.find("conflicts with the members held"),
            std::string::npos)
      << out.responses[0].error_message;
}

}  // namespace
}  // namespace hvd
