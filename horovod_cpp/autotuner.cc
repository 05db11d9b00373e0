#include "horovod_cpp/autotuner.h"

#include "horovod_cpp/logging.h"

namespace hvd {

Autotuner::Autotuner(TuningParams initial, AutotuneOptions options)
    : options_(std::move(options)),
      current_(initial),
      warmup_left_(options_.warmup_samples),
      best_(initial) {
  for (std::int64_t fusion : options_.fusion_thresholds)
    trials_.push_back(TuningParams{fusion, initial.cycle_time_us, initial.cache_enabled,
                                   initial.hierarchical_allreduce});
  if (!options_.log_path.empty()) {
    log_.open(options_.log_path, std::ios::out | std::ios::trunc);
    if (!log_) {
      log_message(LogLevel::Warning,
                  "HOROVOD_AUTOTUNE_LOG: cannot write '" + options_.log_path + "'; not logging");
    }
    log_
        << "trial,phase,fusion_threshold_bytes,cycle_time_ms,response_cache,hierarchical_allreduce,"
           "bytes,seconds,bytes_per_second\n";
  }
  if (trials_.empty()) {
    done_ = true;
  } else if (warmup_left_ <= 0) {
    measuring_trial_ = true;  // no sample to discard: the first trial starts with the job
    propose(trials_[next_trial_], false);
  }
}

void Autotuner::observe(std::int64_t bytes, std::chrono::steady_clock::time_point now) {
  if (done_ || waiting_for_apply_ || bytes <= 0)
    return;
  if (steps_ == 0)
    sample_start_ = now;  // the first step's bytes count; its time is the sample's start
  bytes_ += bytes;
  if (++steps_ <= options_.steps_per_sample)
    return;
  const double seconds = std::chrono::duration<double>(now - sample_start_).count();
  const double score = seconds > 0 ? static_cast<double>(bytes_) / seconds : 0;
  log_row(measuring_trial_ ? "trial" : "warmup", current_, static_cast<double>(bytes_), seconds);
  steps_ = 0;
  bytes_ = 0;
  finish_sample(score);
}

void Autotuner::finish_sample(double bytes_per_second) {
  if (!measuring_trial_) {
    if (--warmup_left_ > 0)
      return;
    measuring_trial_ = true;
    propose(trials_[next_trial_], false);
    return;
  }
  if (bytes_per_second > best_score_) {
    best_score_ = bytes_per_second;
    best_ = current_;
  }
  ++next_trial_;
  if (next_trial_ == options_.fusion_thresholds.size()) {
    // Fusion thresholds done: now cycle times, at the best threshold.
    for (std::int64_t cycle : options_.cycle_times_us) {
      if (cycle != best_.cycle_time_us)
        trials_.push_back(TuningParams{best_.fusion_threshold_bytes, cycle, best_.cache_enabled,
                                       best_.hierarchical_allreduce});
    }
  }
  if (next_trial_ == trials_.size())
    plan_switch_trial();
  if (next_trial_ < trials_.size()) {
    propose(trials_[next_trial_], false);
    return;
  }
  propose(best_, true);
  log_row("chosen", best_, 0, 0);
  log_message(
      LogLevel::Info,
      "autotune: chose HOROVOD_FUSION_THRESHOLD=" + std::to_string(best_.fusion_threshold_bytes) +
          " HOROVOD_CYCLE_TIME=" + std::to_string(best_.cycle_time_us / 1000.0) + " ms" +
          (options_.tune_cache
               ? std::string(" response cache ") + (best_.cache_enabled ? "on" : "off")
               : std::string()) +
          (options_.tune_hierarchical ? std::string(" HOROVOD_HIERARCHICAL_ALLREDUCE=") +
                                            (best_.hierarchical_allreduce ? "1" : "0")
                                      : std::string()));
}

void Autotuner::plan_switch_trial() {
  // Everything else done: the best so far with one switch the other way, one switch at a time,
  // so the second is tried with the better setting of the first.
  TuningParams flipped = best_;
  if (options_.tune_cache && !cache_trial_planned_) {
    cache_trial_planned_ = true;
    flipped.cache_enabled = !best_.cache_enabled;
  } else if (options_.tune_hierarchical && !hierarchical_trial_planned_) {
    hierarchical_trial_planned_ = true;
    flipped.hierarchical_allreduce = !best_.hierarchical_allreduce;
  } else {
    return;
  }
  trials_.push_back(flipped);
}

void Autotuner::propose(const TuningParams& params, bool final) {
  pending_ = params;
  pending_final_ = final;
  waiting_for_apply_ = true;
}

std::optional<TuningParams> Autotuner::take_pending(bool* final) {
  std::optional<TuningParams> out = pending_;
  *final = pending_final_;
  if (out) {
    current_ = *out;
    waiting_for_apply_ = false;
    done_ = pending_final_;
    ++trial_number_;
  }
  pending_.reset();
  return out;
}

void Autotuner::log_row(const std::string& phase, const TuningParams& p, double bytes,
                        double seconds) {
  if (!log_)
    return;
  log_ << trial_number_ << "," << phase << "," << p.fusion_threshold_bytes << ","
       << p.cycle_time_us / 1000.0 << "," << (p.cache_enabled ? 1 : 0) << ","
       << (p.hierarchical_allreduce ? 1 : 0) << "," << bytes << "," << seconds << ","
       << (seconds > 0 ? bytes / seconds : 0) << "\n";
  log_.flush();
}

}  // namespace hvd
