#include "horovod_cpp/handle_table.h"

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

TEST(HandleTableTest, HandlesAreDistinct) {
  HandleTable t;
  EXPECT_NE(t.allocate(), t.allocate());
}

}  // namespace
}  // namespace hvd
