#include "horovod_cpp/autotuner.h"

#include <cmath>
#include <functional>

#include <gtest/gtest.h>

namespace hvd {
namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  std::vector<TuningParams> taken;  // every proposal, in the order the rounds carried them
  std::optional<TuningParams> chosen;
  int rounds = 0;
};

// Drives an Autotuner as rank 0's controller does: a proposal is taken by the next round
// (which carries it to every rank), and each round that moved data is observed after it. A
// round under `params` takes ms_per_round(params) on a fake clock.
Outcome drive(Autotuner* tuner, TuningParams params,
              const std::function<double(const TuningParams&)>& ms_per_round) {
  Outcome out;
  Clock::time_point now;
  for (; out.rounds < 500 && !out.chosen; ++out.rounds) {
    bool final = false;
    if (std::optional<TuningParams> taken = tuner->take_pending(&final)) {
      params = *taken;
      out.taken.push_back(*taken);
      if (final)
        out.chosen = *taken;
    }
    now += std::chrono::microseconds(std::llround(ms_per_round(params) * 1000));
    tuner->observe(1 << 20, now);
  }
  return out;
}

AutotuneOptions options(int warmup_samples, bool tune_cache) {
  AutotuneOptions o;
  o.warmup_samples = warmup_samples;
  o.steps_per_sample = 2;
  o.fusion_thresholds = {1 << 20, 4 << 20};
  o.cycle_times_us = {500, 1000, 2500};
  o.tune_cache = tune_cache;
  return o;
}

// Fastest with 4 MiB and 2.5 ms; the cache is worth `cache_gain_ms` per round.
std::function<double(const TuningParams&)> timing(double cache_gain_ms) {
  return [cache_gain_ms](const TuningParams& p) {
    double ms = 10;
    ms -= p.fusion_threshold_bytes == (4 << 20) ? 2 : 0;
    ms -= p.cycle_time_us == 2500 ? 1 : 0;
    ms -= p.cache_enabled ? cache_gain_ms : 0;
    return ms;
  };
}

TEST(AutotunerTest, ThresholdsThenCycleTimesThenTheCacheSwitchedOffThenTheBest) {
  const TuningParams start{64 << 20, 1000, true};
  Autotuner tuner(start, options(1, /*tune_cache=*/true));
  const Outcome out = drive(&tuner, start, timing(/*cache_gain_ms=*/3));
  ASSERT_TRUE(out.chosen) << "no choice in " << out.rounds << " rounds";
  const std::vector<TuningParams> expected = {
      {1 << 20, 1000, true},  {4 << 20, 1000, true},  // thresholds at the starting cycle time
      {4 << 20, 500, true},   {4 << 20, 2500, true},  // cycle times not tried yet, at 4 MiB
      {4 << 20, 2500, false},                         // the best so far, cache off
      {4 << 20, 2500, true},                          // chosen
  };
  EXPECT_EQ(out.taken, expected);
  EXPECT_TRUE(tuner.done());
}

TEST(AutotunerTest, ChoosesTheCacheOffWhenThatRanFaster) {
  const TuningParams start{64 << 20, 1000, true};
  Autotuner tuner(start, options(1, /*tune_cache=*/true));
  const Outcome out = drive(&tuner, start, timing(/*cache_gain_ms=*/-1));
  ASSERT_TRUE(out.chosen);
  EXPECT_EQ(*out.chosen, (TuningParams{4 << 20, 2500, false}));
}

TEST(AutotunerTest, WithoutACacheToTuneEveryTrialKeepsItsSetting) {
  const TuningParams start{64 << 20, 1000, false};
  Autotuner tuner(start, options(1, /*tune_cache=*/false));
  const Outcome out = drive(&tuner, start, timing(0));
  ASSERT_TRUE(out.chosen);
  EXPECT_EQ(out.taken.size(), 2u + 2u + 1u) << "2 thresholds, 2 new cycle times, the choice";
  for (const TuningParams& p : out.taken)
    EXPECT_FALSE(p.cache_enabled);
  EXPECT_EQ(*out.chosen, (TuningParams{4 << 20, 2500, false}));
}

TEST(AutotunerTest, TheHierarchicalAllreduceIsTriedLastAtTheBestOfEverythingElse) {
  for (const double hierarchy_gain_ms : {-1.0, 2.0}) {
    const TuningParams start{64 << 20, 1000, true, false};
    AutotuneOptions o = options(1, /*tune_cache=*/true);
    o.tune_hierarchical = true;
    Autotuner tuner(start, o);
    const auto base = timing(/*cache_gain_ms=*/-1);  // the cache off wins
    const Outcome out = drive(&tuner, start, [&base, hierarchy_gain_ms](const TuningParams& p) {
      return base(p) - (p.hierarchical_allreduce ? hierarchy_gain_ms : 0);
    });
    ASSERT_TRUE(out.chosen) << hierarchy_gain_ms;
    ASSERT_GE(out.taken.size(), 3u);
    // The cache trial's winner (off), with the hierarchy switched on; then the choice.
    EXPECT_EQ(out.taken[out.taken.size() - 2], (TuningParams{4 << 20, 2500, false, true}));
    EXPECT_EQ(*out.chosen, (TuningParams{4 << 20, 2500, false, hierarchy_gain_ms > 0}));
    EXPECT_EQ(out.taken.size(), 2u + 2u + 1u + 1u + 1u)
        << "2 thresholds, 2 new cycle times, the cache, the hierarchy, the choice";
    for (size_t i = 0; i + 2 < out.taken.size(); ++i)
      EXPECT_FALSE(out.taken[i].hierarchical_allreduce) << "trial " << i;
  }
}

TEST(AutotunerTest, NoWarmupSamplesProposesTheFirstTrialAtOnce) {
  const TuningParams start{64 << 20, 1000, true};
  Autotuner with_warmup(start, options(1, true));
  EXPECT_FALSE(with_warmup.has_pending());
  Autotuner without(start, options(0, true));
  ASSERT_TRUE(without.has_pending());
  // One sample fewer: a sample is steps_per_sample + 1 observed rounds.
  const Outcome a = drive(&with_warmup, start, timing(3));
  const Outcome b = drive(&without, start, timing(3));
  ASSERT_TRUE(a.chosen && b.chosen);
  EXPECT_EQ(a.taken, b.taken);
  EXPECT_EQ(a.rounds - b.rounds, 3);
}

}  // namespace
}  // namespace hvd
