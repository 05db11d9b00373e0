// call_within: a call that returns in time is joined; one that does not is left running while
// the caller moves on, and still finishes on its own later.
#include "collectives/bounded_call.h"

#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace hvd {
namespace {

TEST(CallWithin, ACallThatReturnsInTimeHasRunWhenItReturnsTrue) {
  int ran = 0;  // plain: join() orders the call's write before the read below
  EXPECT_TRUE(call_within([&ran] { ran = 42; }, std::chrono::seconds(60)));
  EXPECT_EQ(ran, 42);
}

TEST(CallWithin, ACallThatDoesNotReturnIsLeftRunningAndTheCallerMovesOn) {
  auto release = std::make_shared<std::promise<void>>();
  auto finished = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  std::future<void> done = finished->get_future();
  // Blocked until released below, so it cannot have returned within the limit.
  EXPECT_FALSE(call_within(
      [released, finished] {
        released.wait();
        finished->set_value();
      },
      std::chrono::milliseconds(50)));
  EXPECT_NE(done.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  release->set_value();
  // The abandoned call still runs to its end: what it owns is freed there, not leaked.
  EXPECT_EQ(done.wait_for(std::chrono::seconds(60)), std::future_status::ready);
}

}  // namespace
}  // namespace hvd
