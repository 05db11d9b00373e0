#include "horovod_cpp/tensor_queue.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hvd {
namespace {

std::pair<TensorTableEntry, Request> make(const std::string& name) {
  TensorTableEntry e;
  e.name = name;
  Request r;
  r.name = name;
  return {e, r};
}

Status push(TensorQueue& q, const std::string& name) {
  auto [e, r] = make(name);
  return q.push(std::move(e), std::move(r));
}

TEST(TensorQueueTest, DrainsInPushOrderAndKeepsEntriesUntilTaken) {
  TensorQueue q;
  ASSERT_TRUE(push(q, "a").is_ok());
  ASSERT_TRUE(push(q, "b").is_ok());
  auto drained = q.drain_requests();
  ASSERT_EQ(drained.size(), 2u);
  EXPECT_EQ(drained[0].name, "a");
  EXPECT_EQ(drained[1].name, "b");
  EXPECT_TRUE(q.drain_requests().empty());
  EXPECT_EQ(q.in_flight(), 2u);
  EXPECT_TRUE(q.take("b").has_value());
  EXPECT_FALSE(q.take("b").has_value());
  EXPECT_EQ(q.in_flight(), 1u);
}

TEST(TensorQueueTest, NameInFlightIsRejectedUntilTaken) {
  TensorQueue q;
  ASSERT_TRUE(push(q, "grad").is_ok());
  Status again = push(q, "grad");
  ASSERT_FALSE(again.is_ok());
  EXPECT_NE(again.message().find("'grad': a tensor with this name is already in flight"),
            std::string::npos);
  ASSERT_TRUE(q.take("grad").has_value());
  EXPECT_TRUE(push(q, "grad").is_ok());
}

TEST(TensorQueueTest, CloseReturnsInFlightEntriesAndRejectsLaterPushes) {
  TensorQueue q;
  ASSERT_TRUE(push(q, "a").is_ok());
  auto left = q.close(Status::error("stopped by rank 1"));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "a");
  Status after = push(q, "b");
  ASSERT_FALSE(after.is_ok());
  EXPECT_EQ(after.message(), "stopped by rank 1");
}

// Pushes `names` as one batch with an admit step that counts its calls and returns `verdict`.
Status push_admitted(TensorQueue& q, const std::vector<std::string>& names, Status verdict,
                     int* admit_calls) {
  std::vector<TensorTableEntry> entries;
  std::vector<Request> requests;
  for (const std::string& name : names) {
    auto [e, r] = make(name);
    entries.push_back(std::move(e));
    requests.push_back(std::move(r));
  }
  return q.push_all(std::move(entries), std::move(requests), [&] {
    ++*admit_calls;
    return verdict;
  });
}

TEST(TensorQueueTest, AdmitRunsOnlyForABatchTheQueueAcceptsAndItsErrorQueuesNothing) {
  TensorQueue q;
  int calls = 0;
  ASSERT_TRUE(push(q, "in_flight").is_ok());
  EXPECT_FALSE(push_admitted(q, {"fresh", "in_flight"}, Status::ok(), &calls).is_ok());
  EXPECT_FALSE(push_admitted(q, {"twice", "twice"}, Status::ok(), &calls).is_ok());
  EXPECT_EQ(calls, 0);  // refused by the queue: nothing may be claimed

  Status refused = push_admitted(q, {"a", "b"}, Status::error("GPU taken"), &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(refused.message(), "GPU taken");
  EXPECT_EQ(q.in_flight(), 1u);
  EXPECT_EQ(q.drain_requests().size(), 1u);  // only "in_flight"

  EXPECT_TRUE(push_admitted(q, {"a", "b"}, Status::ok(), &calls).is_ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(q.in_flight(), 3u);

  (void)q.close(Status::error("closed"));
  EXPECT_EQ(push_admitted(q, {"c"}, Status::ok(), &calls).message(), "closed");
  EXPECT_EQ(calls, 2);
}

TEST(TensorQueueTest, PushWakesAWaitingThread) {
  TensorQueue q;
  std::thread pusher([&] { ASSERT_TRUE(push(q, "late").is_ok()); });
  // A wake that never came would make this wait the full hour.
  q.wait_for_work(std::chrono::hours(1));
  pusher.join();
  EXPECT_EQ(q.in_flight(), 1u);
}

TEST(TensorQueueTest, WakeEndsAWait) {
  TensorQueue q;
  std::thread waker([&] { q.wake(); });
  q.wait_for_work(std::chrono::hours(1));
  waker.join();
  EXPECT_EQ(q.in_flight(), 0u);
}

TEST(TensorQueueTest, PushDuringTheSpinEndsTheWait) {
  TensorQueue q;
  std::thread pusher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(push(q, "soon").is_ok());
  });
  // Spins for up to an hour, then would sleep another: only the push can end it.
  q.wait_for_work(std::chrono::hours(2), std::chrono::hours(1));
  pusher.join();
  EXPECT_EQ(q.in_flight(), 1u);
}

TEST(TensorQueueTest, SpinNeverOutlastsTheTimeout) {
  TensorQueue q;
  const auto start = std::chrono::steady_clock::now();
  q.wait_for_work(std::chrono::milliseconds(20), std::chrono::hours(1));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(1));
  EXPECT_EQ(q.in_flight(), 0u);
}

}  // namespace
}  // namespace hvd
