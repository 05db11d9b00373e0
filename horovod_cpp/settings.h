// Runtime settings read from HOROVOD_* environment variables at init(). Immutable after.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "horovod_cpp/logging.h"
#include "horovod_cpp/status.h"

namespace hvd {

struct Settings {
  // HOROVOD_FUSION_THRESHOLD: bytes packed into one fused allreduce; 0 disables fusion.
  std::int64_t fusion_threshold_bytes = 64LL * 1024 * 1024;
  // HOROVOD_CYCLE_TIME (ms, fractional allowed): while tensors wait for other ranks, how
  // often negotiation is retried. New work wakes the background thread at once regardless.
  std::chrono::microseconds cycle_time{1000};
  // HOROVOD_CACHE_CAPACITY: allreduces remembered by the response cache; 0 disables it.
  int cache_capacity = 1024;
  // HOROVOD_TIMELINE: Chrome-trace output path; empty means off.
  std::string timeline_path;
  bool timeline_mark_cycles = false;
  // HOROVOD_AUTOTUNE and friends (autotuner.h).
  bool autotune = false;
  std::string autotune_log_path;
  int autotune_warmup_samples = 3;
  int autotune_steps_per_sample = 10;
  // HOROVOD_STALL_CHECK_TIME_SECONDS / HOROVOD_STALL_SHUTDOWN_TIME_SECONDS (0 = off) /
  // HOROVOD_STALL_CHECK_DISABLE.
  std::chrono::seconds stall_check_time{60};
  std::chrono::seconds stall_shutdown_time{0};
  bool stall_check_disabled = false;
  // HOROVOD_MALLOC_TUNING: fix glibc's mmap/trim thresholds at init (allocator_tuning.h).
  bool malloc_tuning = true;
  // HOROVOD_GPU_OPERATIONS: NCCL (default: CUDA tensors run on the GPU data plane where this
  // build has one) or MPI (staged through host memory and reduced with MPI: how several ranks
  // share one GPU, which NCCL refuses).
  bool gpu_operations_nccl = true;
  // HOROVOD_HIERARCHICAL_ALLREDUCE: allreduces on the GPU data plane reduce-scatter within each
  // host, allreduce each shard across hosts over MPI, and allgather within the host again
  // (device_allreduce_executor.h). Host allreduces stay one MPI_Allreduce.
  bool hierarchical_allreduce = false;
  // HOROVOD_LOG_LEVEL: trace, debug, info, warning, error, fatal.
  LogLevel log_level = LogLevel::Warning;

  using EnvLookup = std::function<const char*(const char* name)>;
  // Every malformed or out-of-range value is an error naming the variable and the value.
  static StatusOr<Settings> from_environment(const EnvLookup& lookup);
  static StatusOr<Settings> from_environment();

  // One line per setting, with units, for the init report.
  std::string describe() const;

  // The settings that every rank must share: each rank computes its fusion plan and its
  // response-cache bit vector from them, and ranks that differ would fuse different groups
  // (wrong sums or a hang). init() compares them across ranks before starting.
  struct Shared {
    const char* name;
    std::int64_t value;
  };
  std::vector<Shared> shared() const;
};

// `values_by_rank[r]` holds rank r's values of Settings::shared(), in order, named by `names`.
// An error names the first setting that differs and which ranks have which value.
Status check_shared_settings(const std::vector<const char*>& names,
                             const std::vector<std::vector<std::int64_t>>& values_by_rank);

}  // namespace hvd
