#include "horovod_cpp/controller.h"

#include <gtest/gtest.h>

#include "fake_control_network.h"

namespace hvd {
namespace {

Request request(int rank, const std::string& name, std::vector<std::int64_t> shape = {5}) {
  Request r;
  r.rank = rank;
  r.name = name;
  r.shape = std::move(shape);
  return r;
}

// Runs `rounds` negotiation rounds on `size` rank-threads; submissions[rank][round] is what
// that rank sends in that round. Returns every rank's response lists.
std::vector<std::vector<ResponseList>> negotiate(
    int size, const std::vector<std::vector<RequestList>>& submissions, std::int64_t threshold) {
  FakeControlNetwork network(size);
  std::vector<std::vector<ResponseList>> results(size);
  run_ranks(size, [&](int rank) {
    FakeControlChannel channel(&network, rank);
    Controller controller(&channel, threshold);
    for (const RequestList& mine : submissions[rank]) {
      auto out = controller.negotiate(mine);
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      results[rank].push_back(out.value());
    }
  });
  return results;
}

RequestList list_of(std::vector<Request> requests) {
  RequestList l;
  l.requests = std::move(requests);
  return l;
}

TEST(ControllerTest, EveryRankGetsTheSameFusedListDespiteDifferentOrders) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "a"), request(0, "b"), request(0, "c")})};
  submissions[1] = {list_of({request(1, "c"), request(1, "b"), request(1, "a")})};
  submissions[2] = {list_of({request(2, "b"), request(2, "c"), request(2, "a")})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    ASSERT_EQ(results[r][0].responses.size(), 1u) << "rank " << r;
    EXPECT_EQ(results[r][0].responses, results[0][0].responses) << "rank " << r;
    EXPECT_EQ(results[r][0].responses[0].names.size(), 3u);
  }
}

TEST(ControllerTest, LateRankCompletesATensorInALaterRound) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "x")}), RequestList{}};
  submissions[1] = {RequestList{}, list_of({request(1, "x")})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    EXPECT_TRUE(results[r][0].responses.empty());
    ASSERT_EQ(results[r][1].responses.size(), 1u);
    EXPECT_EQ(results[r][1].responses[0].names, (std::vector<std::string>{"x"}));
  }
}

TEST(ControllerTest, MismatchIsTheSameErrorOnEveryRank) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "w", {2, 2})})};
  submissions[1] = {list_of({request(1, "w", {2, 3})})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    ASSERT_EQ(results[r][0].responses.size(), 1u);
    EXPECT_EQ(results[r][0].responses[0].type, ResponseType::Error);
    EXPECT_EQ(results[r][0].responses[0].error_message,
              "allreduce 'w': ranks disagree on shape: rank 0 has [2, 2]; rank 1 has [2, 3]");
  }
}

TEST(ControllerTest, ShutdownOfOneRankReachesAll) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size, {RequestList{}});
  submissions[2][0].shutdown = true;
  auto results = negotiate(size, submissions, 0);
  for (int r = 0; r < size; ++r) {
    EXPECT_EQ(results[r][0].shutdown_ranks, (std::vector<std::int32_t>{2}));
  }
}

}  // namespace
}  // namespace hvd
