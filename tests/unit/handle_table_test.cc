#include "horovod_cpp/handle_table.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace hvd {
namespace {

TEST(HandleTableTest, PollThenWaitReturnsTheStatus) {
  HandleTable t;
  Handle h = t.allocate();
  auto before = t.poll(h);
  ASSERT_TRUE(before.is_ok());
  EXPECT_FALSE(before.value());
  t.complete(h, Status::error("rank 1 disagreed"));
  EXPECT_TRUE(t.poll(h).value());
  Status s = t.wait(h, "test op");
  EXPECT_EQ(s.message(), "rank 1 disagreed");
  EXPECT_EQ(t.size(), 0u);
}

TEST(HandleTableTest, UnknownOrAlreadyWaitedHandleIsAnError) {
  HandleTable t;
  EXPECT_FALSE(t.poll(42).is_ok());
  Handle h = t.allocate();
  t.complete(h, Status::ok());
  EXPECT_TRUE(t.wait(h, "op").is_ok());
  Status again = t.wait(h, "op");
  ASSERT_FALSE(again.is_ok());
  EXPECT_NE(again.message().find("does not exist or was already synchronized"), std::string::npos);
}

TEST(HandleTableTest, WaitBlocksUntilAnotherThreadCompletes) {
  HandleTable t;
  Handle h = t.allocate();
  std::thread completer([&] { t.complete(h, Status::ok()); });
  EXPECT_TRUE(t.wait(h, "op").is_ok());
  completer.join();
}

TEST(HandleTableTest, CompletionAfterTheSpinWakesTheSleepingWaiter) {
  HandleTable t;
  Handle h = t.allocate();
  std::thread completer([&] {
    // Long past kSpinBeforeSleep: the waiter is asleep on the condition variable by now.
    std::this_thread::sleep_for(HandleTable::kSpinBeforeSleep * 200);
    t.complete(h, Status::error("late"));
  });
  Status s = t.wait(h, "op");
  completer.join();
  EXPECT_EQ(s.message(), "late");
}

TEST(HandleTableTest, ABatchWakesWaitersOnceAtItsEnd) {
  HandleTable t;
  const Handle first = t.allocate(), second = t.allocate();
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    EXPECT_TRUE(t.wait(first, "first").is_ok());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the waiter is blocked
  {
    HandleTable::Batch outer(&t);
    {
      HandleTable::Batch inner(&t);  // batches nest
      t.complete(first, Status::ok());
    }
    t.complete(second, Status::ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Done, but not woken: the batch is still open.
    EXPECT_FALSE(returned.load());
    EXPECT_TRUE(t.poll(first).value());
  }
  waiter.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(t.wait(second, "second").is_ok());
}

TEST(HandleTableTest, HandlesAreDistinct) {
  HandleTable t;
  EXPECT_NE(t.allocate(), t.allocate());
}

}  // namespace
}  // namespace hvd
