#include "horovod_cpp/stall_inspector.h"

#include <gtest/gtest.h>

#include "horovod_cpp/coordinator.h"

namespace hvd {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

WaitingOp waiting(const std::string& description, std::vector<int> missing,
                  Clock::time_point since) {
  return WaitingOp{description, std::move(missing), since};
}

TEST(StallInspectorTest, ReportsAfterCheckTimeAndRepeatsAtThatPeriod) {
  StallInspector inspector({seconds(60), seconds(0), false});
  const Clock::time_point t0{};
  std::vector<WaitingOp> ops = {waiting("allreduce 'x'", {2, 3, 4, 5, 6, 7}, t0),
                                waiting("allgather 'y'", {1}, t0 + seconds(30))};
  EXPECT_TRUE(inspector.inspect(ops, t0 + seconds(59)).report.empty());
  StallVerdict first = inspector.inspect(ops, t0 + seconds(61));
  EXPECT_EQ(first.report,
            "stall: ops some ranks submitted at least 60 s ago (HOROVOD_STALL_CHECK_TIME_SECONDS) "
            "are still missing on other ranks; those ranks may be stuck, or submitting different "
            "names:\n  allreduce 'x' (waiting 61 s): missing ranks 2-7");
  EXPECT_TRUE(first.abort_reason.empty());                                // stall shutdown is off
  EXPECT_TRUE(inspector.inspect(ops, t0 + seconds(100)).report.empty());  // within the period
  StallVerdict again = inspector.inspect(ops, t0 + seconds(121));
  EXPECT_NE(again.report.find("allreduce 'x' (waiting 121 s): missing ranks 2-7"),
            std::string::npos);
  EXPECT_NE(again.report.find("allgather 'y' (waiting 91 s): missing rank 1"), std::string::npos);
}

TEST(StallInspectorTest, ShutdownTimeTurnsAStallIntoAnAbortReason) {
  StallInspector inspector({seconds(2), seconds(5), false});
  const Clock::time_point t0{};
  // 'y' reached the coordinator later (a cache hit first waits among the ranks that have it),
  // and rank 0 is stuck in it: the job stops for 'x', and the message names 'y' too.
  std::vector<WaitingOp> ops = {waiting("allreduce 'y'", {0}, t0 + seconds(1)),
                                waiting("allreduce 'x'", {1}, t0)};
  EXPECT_TRUE(inspector.inspect(ops, t0 + seconds(4)).abort_reason.empty());
  StallVerdict verdict = inspector.inspect(ops, t0 + seconds(5));
  EXPECT_EQ(verdict.abort_reason,
            "horovod_cpp stopped: ops stalled for 5 s (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS) "
            "because some ranks never submitted them:\n  allreduce 'x' (waiting 5 s): missing "
            "rank 1\n  allreduce 'y' (waiting 4 s): missing rank 0");
}

TEST(StallInspectorTest, DisabledNeverReports) {
  StallInspector inspector({seconds(1), seconds(1), true});
  std::vector<WaitingOp> ops = {waiting("allreduce 'x'", {1}, Clock::time_point{})};
  StallVerdict verdict = inspector.inspect(ops, Clock::time_point{} + seconds(1000));
  EXPECT_TRUE(verdict.report.empty());
  EXPECT_TRUE(verdict.abort_reason.empty());
}

TEST(StallInspectorTest, LongListsAreCut) {
  StallInspector inspector({seconds(1), seconds(0), false});
  std::vector<WaitingOp> ops;
  for (int i = 0; i < StallInspector::kMaxListedOps + 5; ++i)
    ops.push_back(waiting("allreduce 't" + std::to_string(i) + "'", {1}, Clock::time_point{}));
  StallVerdict verdict = inspector.inspect(ops, Clock::time_point{} + seconds(2));
  EXPECT_NE(verdict.report.find("... and 5 more"), std::string::npos);
  EXPECT_EQ(verdict.report.find("'t20'"), std::string::npos);
}

Request request(int rank, const std::string& name) {
  Request r;
  r.rank = rank;
  r.name = name;
  r.shape = {2};
  return r;
}

TEST(StallInspectorTest, CoordinatorNamesMissingRanksAndJoinedRanksAreNotMissing) {
  Coordinator c(4, 0, {seconds(10), seconds(20), false});
  const Clock::time_point t0{};
  RequestList x;
  x.requests = {request(0, "x")};
  RequestList joining;
  Request join;
  join.op = OpType::Join;
  join.name = kJoinName;
  joining.requests = {join};
  c.compute({x, {}, {}, joining}, t0);
  ResponseList out = c.compute({{}, {}, {}, {}}, t0 + seconds(11));
  EXPECT_NE(c.last_stall_report().find("allreduce 'x' (waiting 11 s): missing ranks 1-2"),
            std::string::npos)
      << c.last_stall_report();
  EXPECT_TRUE(out.abort_reason.empty());
  out = c.compute({{}, {}, {}, {}}, t0 + seconds(20));
  EXPECT_NE(out.abort_reason.find("missing ranks 1-2"), std::string::npos);
  EXPECT_TRUE(out.shutdown());
}

}  // namespace
}  // namespace hvd
