// Autotuning (HOROVOD_AUTOTUNE=1): rank 0 measures the payload bytes per second the job
// moves under different fusion thresholds, cycle times, with the response cache on or off and
// with the hierarchical allreduce on or off, and picks the best. Every rank must
// run with the same fusion threshold from the same round on (fusion is planned on every rank
// for cached rounds), so rank 0 never applies a value itself: it hands it to the controller,
// which broadcasts it in the next coordinator round's ResponseList, and every rank applies it
// after that round.
//
// Search: after `warmup_samples` discarded samples, one sample per candidate fusion threshold
// (at the starting cycle time), then one per candidate cycle time (at the best threshold),
// then, where a response cache is configured (`tune_cache`), one with it switched the other
// way (at the best threshold and cycle time), then, where the hierarchical allreduce can run
// (`tune_hierarchical`), one with it switched the other way (at the best of all those); then
// the best is final. A sample is
// `steps_per_sample` rounds that moved data, timed from the first of them. Each trial and the
// choice go to the CSV log, if one is named. Thread: background, rank 0 only.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hvd {

struct TuningParams {
  std::int64_t fusion_threshold_bytes = 0;
  std::int64_t cycle_time_us = 0;
  bool cache_enabled = false;
  bool hierarchical_allreduce = false;  // HOROVOD_HIERARCHICAL_ALLREDUCE (GPU allreduces)
  bool operator==(const TuningParams& o) const {
    return fusion_threshold_bytes == o.fusion_threshold_bytes && cycle_time_us == o.cycle_time_us &&
           cache_enabled == o.cache_enabled && hierarchical_allreduce == o.hierarchical_allreduce;
  }
};

struct AutotuneOptions {
  int warmup_samples = 3;
  int steps_per_sample = 10;
  std::string log_path;  // CSV; empty: no log
  std::vector<std::int64_t> fusion_thresholds = {1 << 20, 4 << 20, 16 << 20, 64 << 20};
  std::vector<std::int64_t> cycle_times_us = {500, 1000, 2500, 5000};
  bool tune_cache = false;  // try the response cache switched the other way, once
  // Try the hierarchical allreduce switched the other way, once (where it can run: a GPU data
  // plane and several hosts with as many ranks each).
  bool tune_hierarchical = false;
};

class Autotuner {
 public:
  Autotuner(TuningParams initial, AutotuneOptions options);

  // Once per negotiation round, with the payload bytes of that round's responses.
  void observe(std::int64_t bytes, std::chrono::steady_clock::time_point now);
  // Parameters to broadcast, once; `final` says tuning is over with them.
  bool has_pending() const { return pending_.has_value(); }
  std::optional<TuningParams> take_pending(bool* final);
  bool done() const { return done_; }

 private:
  void finish_sample(double bytes_per_second);
  void plan_switch_trial();
  void propose(const TuningParams& params, bool final);
  void log_row(const std::string& phase, const TuningParams& p, double bytes, double seconds);

  const AutotuneOptions options_;
  TuningParams current_;
  std::vector<TuningParams> trials_;  // planned, in order; later phases added as earlier end
  bool cache_trial_planned_ = false;
  bool hierarchical_trial_planned_ = false;
  size_t next_trial_ = 0;
  int warmup_left_;
  bool measuring_trial_ = false;  // false during warm-up
  TuningParams best_;
  double best_score_ = -1;
  int steps_ = 0;
  std::int64_t bytes_ = 0;
  std::chrono::steady_clock::time_point sample_start_;
  std::optional<TuningParams> pending_;
  bool pending_final_ = false;
  bool waiting_for_apply_ = false;  // proposed, not yet broadcast: samples would mix params
  bool done_ = false;
  int trial_number_ = 0;
  std::ofstream log_;
};

}  // namespace hvd
