// Autotuning across real ranks, run with HOROVOD_AUTOTUNE=1, one warm-up sample, 3 steps per
// sample and HOROVOD_AUTOTUNE_LOG set: a training-like loop runs until every rank reports the
// search finished, checking every result on the way (a rank fusing differently from the
// others would get wrong sums or hang). Then every rank must hold the same final values, and
// they must be the ones rank 0's log says it chose after trying every candidate (and, with a
// response cache configured, the best of those with the cache switched off; in the np2 run
// with HOROVOD_CACHE_CAPACITY=0 the cache must stay off and no such trial run).
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "autotune_log.h"
#include "horovod_cpp/torch.h"

namespace {

TEST(AutotuneTest, EveryRankEndsWithTheValuesRankZeroChose) {
  const int rank = hvd::rank(), size = hvd::size();
  ASSERT_FALSE(hvd::stats().autotune_done);
  const char* capacity = std::getenv("HOROVOD_CACHE_CAPACITY");
  const bool cache_configured = capacity == nullptr || std::atoi(capacity) > 0;
  ASSERT_EQ(hvd::stats().cache_enabled, cache_configured);
  bool cache_was_off = false;
  const std::vector<int64_t> sizes = {5, 1000, 16384, 100000, 300000, 2};
  bool all_done = false;
  int steps = 0;
  while (!all_done && steps < 3000) {
    std::vector<hvd::Handle> handles;
    for (size_t t = 0; t < sizes.size(); ++t) {
      handles.push_back(hvd::allreduce_async(torch::full({sizes[t]}, rank + 1.0),
                                             hvd::ReduceOp::Sum, "grad." + std::to_string(t)));
    }
    for (size_t t = 0; t < sizes.size(); ++t) {
      const auto sum = hvd::synchronize(handles[t]);
      ASSERT_TRUE(torch::equal(sum, torch::full({sizes[t]}, size * (size + 1) / 2.0)))
          << "step " << steps << " tensor " << t;
      // After every completion: the cache-off trial lasts a few rounds that each complete
      // something here, and the next trial needs this thread's next submissions.
      cache_was_off |= !hvd::stats().cache_enabled;
    }
    const int done_here = hvd::stats().autotune_done ? 1 : 0;
    all_done = hvd::allreduce(torch::full({1}, done_here, torch::kInt32), hvd::ReduceOp::Min,
                              "autotune.done")
                   .item<int>() == 1;
    ++steps;
  }
  ASSERT_TRUE(all_done) << "autotuning did not finish in " << steps << " steps";

  const hvd::Stats stats = hvd::stats();
  const auto mine = torch::tensor(
      {stats.fusion_threshold_bytes, stats.cycle_time_us, int64_t{stats.cache_enabled}},
      torch::kInt64);
  const auto everyone = hvd::allgather(mine.unsqueeze(0), "autotune.values");
  for (int r = 0; r < size; ++r)
    EXPECT_TRUE(torch::equal(everyone[r], mine)) << "rank " << r << " differs from rank " << rank;

  EXPECT_FALSE(stats.hierarchical_allreduce);
  if (cache_configured)
    EXPECT_TRUE(cache_was_off) << "the cache-off trial never reached rank " << rank;
  else
    EXPECT_FALSE(stats.cache_enabled);
  if (rank != 0)
    return;
  const hvd_test::AutotuneLog log = hvd_test::read_autotune_log();
  ASSERT_TRUE(log.error.empty()) << log.error;
  EXPECT_EQ(log.header,
            "trial,phase,fusion_threshold_bytes,cycle_time_ms,response_cache,"
            "hierarchical_allreduce,bytes,seconds,bytes_per_second");
  int warmups = 0, trials = 0, cache_off_trials = 0, chosen = 0;
  for (const std::vector<std::string>& row : log.rows) {
    ASSERT_EQ(row.size(), 9u);
    const std::string &phase = row[1], &fusion = row[2], &cycle_ms = row[3], &cache = row[4];
    // No GPU data plane here: the hierarchical allreduce cannot run, so it is never tried.
    EXPECT_EQ(row[5], "0") << "trial " << row[0];
    if (phase == "warmup")
      ++warmups;
    if (phase == "trial") {
      ++trials;
      cache_off_trials += cache == "0" ? 1 : 0;
    }
    if (phase == "chosen") {
      ++chosen;
      EXPECT_EQ(std::stoll(fusion), stats.fusion_threshold_bytes);
      EXPECT_DOUBLE_EQ(std::stod(cycle_ms) * 1000, static_cast<double>(stats.cycle_time_us));
      EXPECT_EQ(cache, stats.cache_enabled ? "1" : "0");
    }
  }
  EXPECT_EQ(warmups, 1);
  if (cache_configured) {
    EXPECT_EQ(trials, 4 + 3 + 1)
        << "4 fusion thresholds, the 3 cycle times not tried yet, then the cache switched off";
    EXPECT_EQ(cache_off_trials, 1);
  } else {
    EXPECT_EQ(trials, 4 + 3) << "4 fusion thresholds, then the 3 cycle times not tried yet";
    EXPECT_EQ(cache_off_trials, 7) << "no cache configured: every trial runs without it";
  }
  EXPECT_EQ(chosen, 1);
}

}  // namespace
