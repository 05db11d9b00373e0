#include "horovod_cpp/coordinator.h"

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
  auto out = c.compute({{}, stopping, stopping});
  EXPECT_EQ(out.shutdown_ranks, (std::vector<std::int32_t>{1, 2}));
}

TEST(CoordinatorTest, SecondSubmissionFromOneRankIsAnError) {
  Coordinator c(2, 0);
  auto out = c.compute({list_of({request(0, "x"), request(0, "x")}), {}});
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].type, ResponseType::Error);
  EXPECT_NE(out.responses[0].error_message.find("rank 0 submitted it twice"), std::string::npos);
}

}  // namespace
}  // namespace hvd
