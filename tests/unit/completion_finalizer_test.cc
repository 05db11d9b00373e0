#include "horovod_cpp/completion_finalizer.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace hvd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A piece of "device work" the test finishes (or fails) when it likes.
struct FakeWork {
  std::atomic<bool> finished{false};
  std::atomic<bool> failed{false};
  CompletionFinalizer::Poll poll() {
    return [this]() -> StatusOr<bool> {
      if (failed)
        return Status::error("NCCL said no");
      return finished.load();
    };
  }
};

// What the callbacks saw, in order, and on which thread.
struct Outcomes {
  std::mutex mu;
  std::vector<std::string> seen;  // "name:ok" or "name:<message>"
  std::vector<std::thread::id> threads;
  CompletionFinalizer::Callback record(const std::string& name) {
    return [this, name](const Status& s) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(name + ":" + (s.is_ok() ? "ok" : s.message()));
      threads.push_back(std::this_thread::get_id());
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition())
      return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

TEST(CompletionFinalizerTest, CallbacksRunInOrderOnTheFinalizerThreadOnceWorkFinishes) {
  CompletionFinalizer finalizer(milliseconds(10'000), microseconds(50));
  FakeWork first, second, third;
  Outcomes outcomes;
  finalizer.add(first.poll(), outcomes.record("first"));
  finalizer.add(second.poll(), outcomes.record("second"));
  finalizer.add(third.poll(), outcomes.record("third"));
  // The last two finish before the first: nothing may complete ahead of it.
  third.finished = true;
  second.finished = true;
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_TRUE(outcomes.snapshot().empty());
  EXPECT_EQ(finalizer.pending(), 3u);
  first.finished = true;
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 3; }));
  EXPECT_EQ(outcomes.snapshot(), (std::vector<std::string>{"first:ok", "second:ok", "third:ok"}));
  EXPECT_EQ(finalizer.pending(), 0u);
  for (std::thread::id id : outcomes.threads)
    EXPECT_NE(id, std::this_thread::get_id());
}

TEST(CompletionFinalizerTest, AFailedPieceGetsItsErrorAndTheNextStillCompletes) {
  CompletionFinalizer finalizer(milliseconds(10'000), microseconds(50));
  FakeWork bad, good;
  Outcomes outcomes;
  finalizer.add(bad.poll(), outcomes.record("bad"));
  finalizer.add(good.poll(), outcomes.record("good"));
  bad.failed = true;
  good.finished = true;
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 2; }));
  EXPECT_EQ(outcomes.snapshot(), (std::vector<std::string>{"bad:NCCL said no", "good:ok"}));
}

TEST(CompletionFinalizerTest, StuckWorkFailsAfterTheLimitWithEverythingBehindIt) {
  CompletionFinalizer finalizer(milliseconds(100), microseconds(50));
  FakeWork stuck, behind;
  Outcomes outcomes;
  const auto start = std::chrono::steady_clock::now();
  finalizer.add(stuck.poll(), outcomes.record("stuck"));
  finalizer.add(behind.poll(), outcomes.record("behind"));
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 2; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));
  const std::vector<std::string> seen = outcomes.snapshot();
  for (const std::string& s : seen)
    EXPECT_NE(s.find("did not complete within 100 ms"), std::string::npos) << s;
  EXPECT_EQ(seen[0].rfind("stuck:", 0), 0u);
  // A stuck device does not stop the finalizer: later work completes normally.
  FakeWork later;
  later.finished = true;
  finalizer.add(later.poll(), outcomes.record("later"));
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 3; }));
  EXPECT_EQ(outcomes.snapshot().back(), "later:ok");
}

TEST(CompletionFinalizerTest, StopLetsPendingWorkFinishThenFailsTheRestAndLaterAdds) {
  auto finalizer = std::make_unique<CompletionFinalizer>(milliseconds(2000), microseconds(50));
  FakeWork finishes_late, never;
  Outcomes outcomes;
  finalizer->add(finishes_late.poll(), outcomes.record("late"));
  finalizer->add(never.poll(), outcomes.record("never"));
  std::thread finisher([&] {
    std::this_thread::sleep_for(milliseconds(50));
    finishes_late.finished = true;
  });
  finalizer->stop(Status::error("rank 1 shut down: bye"));  // waits up to 2 s
  finisher.join();
  EXPECT_EQ(outcomes.snapshot(),
            (std::vector<std::string>{"late:ok", "never:rank 1 shut down: bye"}));
  FakeWork after;
  finalizer->add(after.poll(), outcomes.record("after"));  // runs at once, here
  EXPECT_EQ(outcomes.snapshot().back(), "after:rank 1 shut down: bye");
  EXPECT_EQ(outcomes.threads.back(), std::this_thread::get_id());
  finalizer->stop(Status::error("second reason is ignored"));
  finalizer.reset();  // the destructor's stop is a no-op now
  EXPECT_EQ(outcomes.snapshot().size(), 3u);
}

// A milestone (the inputs ready) records "name:reached" in the same list as the callbacks.
CompletionFinalizer::Milestone milestone(FakeWork* inputs, Outcomes* outcomes,
                                         const std::string& name) {
  return {inputs->poll(), [outcomes, name] {
            std::lock_guard<std::mutex> lock(outcomes->mu);
            outcomes->seen.push_back(name + ":reached");
          }};
}

TEST(CompletionFinalizerTest, MilestonesOfLaterPiecesAreSeenWhileTheFirstStillRuns) {
  CompletionFinalizer finalizer(milliseconds(10'000), microseconds(50));
  FakeWork first, second, second_inputs, third, third_inputs;
  Outcomes outcomes;
  finalizer.add(first.poll(), outcomes.record("first"));
  finalizer.add(second.poll(), outcomes.record("second"),
                milestone(&second_inputs, &outcomes, "second"));
  finalizer.add(third.poll(), outcomes.record("third"),
                milestone(&third_inputs, &outcomes, "third"));
  third_inputs.finished = true;  // out of order, and while "first" is still pending
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 1; }));
  second_inputs.finished = true;
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 2; }));
  EXPECT_EQ(outcomes.snapshot(), (std::vector<std::string>{"third:reached", "second:reached"}));
  first.finished = second.finished = third.finished = true;
  ASSERT_TRUE(eventually([&] { return finalizer.pending() == 0; }));
  EXPECT_EQ(outcomes.snapshot(), (std::vector<std::string>{"third:reached", "second:reached",
                                                           "first:ok", "second:ok", "third:ok"}));
}

TEST(CompletionFinalizerTest, AMilestoneNeverSeenRunsJustBeforeItsPieceEndsOrFails) {
  CompletionFinalizer finalizer(milliseconds(300), microseconds(50));
  FakeWork done_at_once, inputs_never, failing, failing_inputs, stuck, stuck_inputs, erring_inputs,
      last;
  erring_inputs.failed = true;  // an error counts as reached: the piece's poll reports it
  Outcomes outcomes;
  done_at_once.finished = true;
  finalizer.add(done_at_once.poll(), outcomes.record("done"),
                milestone(&inputs_never, &outcomes, "done"));
  failing.failed = true;
  finalizer.add(failing.poll(), outcomes.record("failing"),
                milestone(&failing_inputs, &outcomes, "failing"));
  finalizer.add(last.poll(), outcomes.record("erring"),
                milestone(&erring_inputs, &outcomes, "erring"));
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() >= 5; }));
  // (The erring milestone may be seen before "done" ends: it is polled on every pending piece.)
  std::vector<std::string> seen = outcomes.snapshot();
  seen.erase(std::remove(seen.begin(), seen.end(), "erring:reached"), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"done:reached", "done:ok", "failing:reached",
                                            "failing:NCCL said no"}));
  EXPECT_EQ(outcomes.snapshot().size(), 5u);
  last.finished = true;
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().back() == "erring:ok"; }));
  // Past the limit: the stuck piece and everything behind it fail, milestones first.
  finalizer.add(stuck.poll(), outcomes.record("stuck"),
                milestone(&stuck_inputs, &outcomes, "stuck"));
  ASSERT_TRUE(eventually([&] { return outcomes.snapshot().size() == 8; }));
  EXPECT_EQ(outcomes.snapshot()[6], "stuck:reached");
  EXPECT_EQ(outcomes.snapshot()[7].rfind("stuck:device work did not complete", 0), 0u)
      << outcomes.snapshot()[7];
  // After stop(): refused at once, the milestone first, on the caller's thread.
  finalizer.stop(Status::error("bye"));
  FakeWork after, after_inputs;
  finalizer.add(after.poll(), outcomes.record("after"),
                milestone(&after_inputs, &outcomes, "after"));
  const std::vector<std::string> all = outcomes.snapshot();
  const std::vector<std::string> tail(all.end() - 2, all.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"after:reached", "after:bye"}));
}

TEST(CompletionFinalizerTest, ManyProducersLoseNothing) {
  CompletionFinalizer finalizer(milliseconds(10'000), microseconds(10));
  std::atomic<int> completed{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto polls = std::make_shared<int>(i % 3);  // done after 0-2 pending polls
        finalizer.add([polls]() -> StatusOr<bool> { return (*polls)-- <= 0; },
                      [&](const Status& s) {
                        if (s.is_ok())
                          ++completed;
                      });
      }
    });
  }
  for (std::thread& t : producers)
    t.join();
  ASSERT_TRUE(eventually([&] { return completed.load() == 4000; })) << completed.load();
  EXPECT_EQ(finalizer.pending(), 0u);
}

}  // namespace
}  // namespace hvd
