#include "horovod_cpp/staged_input_wait.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "horovod_cpp/device_plane.h"

namespace hvd {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Happens on the `after`-th query (0: never); counts the queries.
class CountdownEvent : public DeviceEvent {
 public:
  explicit CountdownEvent(int after, bool fails = false) : after_(after), fails_(fails) {}
  StatusOr<bool> happened() const override {
    const int n = ++queries_;
    if (fails_)
      return Status::error("CUDA said no");
    return after_ > 0 && n >= after_;
  }
  int queries() const { return queries_.load(); }

 private:
  const int after_;
  const bool fails_;
  mutable std::atomic<int> queries_{0};
};

TensorTableEntry staged(const std::string& name, std::shared_ptr<const DeviceEvent> ready) {
  TensorTableEntry entry;
  entry.name = name;
  entry.ready = std::move(ready);
  return entry;
}

const StagedInputBounds kQuick{microseconds(10), milliseconds(0), milliseconds(5'000)};

void no_warning(const std::string& message) {
  ADD_FAILURE() << "unexpected warning: " << message;
}

TEST(StagedInputWaitTest, ReturnsOnceEveryHostInputsEventHasHappened) {
  auto a = std::make_shared<CountdownEvent>(3);
  auto b = std::make_shared<CountdownEvent>(40);
  std::vector<TensorTableEntry> entries;
  entries.push_back(staged("a", a));
  entries.push_back(staged("b", b));
  entries.push_back(staged("ready_now", nullptr));
  ASSERT_TRUE(has_staged_inputs(entries));
  const Status waited = wait_for_staged_inputs(entries, kQuick, no_warning);
  ASSERT_TRUE(waited.is_ok()) << waited.message();
  EXPECT_EQ(b->queries(), 40);  // it returned on the query that saw the last one happen
  EXPECT_EQ(a->queries(), 3);   // and asked no more once an event had happened
}

TEST(StagedInputWaitTest, EntriesOnTheDeviceAndEntriesWithoutAnEventAreNotWaitedFor) {
  auto never = std::make_shared<CountdownEvent>(0);
  std::vector<TensorTableEntry> entries;
  entries.push_back(staged("device", never));
  entries.back().on_device = true;  // the plane's stream waits for this one, not the host
  entries.push_back(staged("cpu", nullptr));
  EXPECT_FALSE(has_staged_inputs(entries));
  const Status waited = wait_for_staged_inputs(entries, kQuick, no_warning);
  EXPECT_TRUE(waited.is_ok()) << waited.message();
  EXPECT_EQ(never->queries(), 0);
}

TEST(StagedInputWaitTest, AFailedEventIsAnErrorNamingTheTensor) {
  std::vector<TensorTableEntry> entries;
  entries.push_back(staged("fine", std::make_shared<CountdownEvent>(1)));
  entries.push_back(staged("grad.fc1", std::make_shared<CountdownEvent>(1, /*fails=*/true)));
  const Status waited = wait_for_staged_inputs(entries, kQuick, no_warning);
  ASSERT_FALSE(waited.is_ok());
  EXPECT_NE(waited.message().find("'grad.fc1'"), std::string::npos) << waited.message();
  EXPECT_NE(waited.message().find("CUDA said no"), std::string::npos) << waited.message();
}

TEST(StagedInputWaitTest, AnEventThatNeverHappensWarnsThenFailsAtTheLimitNamingWhatIsLeft) {
  std::vector<TensorTableEntry> entries;
  entries.push_back(staged("done", std::make_shared<CountdownEvent>(1)));
  for (int i = 0; i < 6; ++i)
    entries.push_back(staged("stuck." + std::to_string(i), std::make_shared<CountdownEvent>(0)));
  std::vector<std::string> warnings;
  const StagedInputBounds bounds{microseconds(100), milliseconds(30), milliseconds(200)};
  const auto start = std::chrono::steady_clock::now();
  const Status waited = wait_for_staged_inputs(
      entries, bounds, [&](const std::string& message) { warnings.push_back(message); });
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(waited.is_ok());
  EXPECT_GE(took, milliseconds(200));
  EXPECT_LT(took, milliseconds(5'000));
  EXPECT_NE(waited.message().find("'stuck.0', 'stuck.1', 'stuck.2', 'stuck.3' and 2 more"),
            std::string::npos)
      << waited.message();
  EXPECT_EQ(waited.message().find("'done'"), std::string::npos) << waited.message();
  // About one warning per 30 ms before the 200 ms limit; each names what is still waited for.
  ASSERT_GE(warnings.size(), 2u);
  EXPECT_LE(warnings.size(), 7u);
  EXPECT_NE(warnings.front().find("'stuck.0'"), std::string::npos) << warnings.front();
}

}  // namespace
}  // namespace hvd
