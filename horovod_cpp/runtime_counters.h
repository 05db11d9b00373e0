// Counters behind hvd::stats(). Thread-safe (relaxed atomics; each is a monotone count).
#pragma once

#include <atomic>
#include <cstdint>

#include "horovod_cpp/horovod.h"

namespace hvd {

struct RuntimeCounters {
  std::atomic<std::int64_t> negotiation_cycles{0};
  std::atomic<std::int64_t> negotiation_micros{0};
  std::atomic<std::int64_t> tensors_reduced{0};
  std::atomic<std::int64_t> allreduce_calls{0};
  std::atomic<std::int64_t> fused_allreduce_calls{0};
  std::atomic<std::int64_t> bytes_reduced{0};
  std::atomic<std::int64_t> allgather_calls{0};
  std::atomic<std::int64_t> fused_allgather_calls{0};
  std::atomic<std::int64_t> errors_reported{0};
  std::atomic<std::int64_t> cache_hits{0};
  std::atomic<std::int64_t> cache_misses{0};
  std::atomic<std::int64_t> tensors_submitted{0};
  // Not counts: values in effect, set by the background thread.
  std::atomic<std::int64_t> fusion_threshold_bytes{0};
  std::atomic<std::int64_t> cycle_time_us{0};
  std::atomic<bool> cache_enabled{false};
  std::atomic<bool> hierarchical_allreduce{false};
  std::atomic<bool> autotune_done{false};

  static void add(std::atomic<std::int64_t>& counter, std::int64_t n) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  Stats snapshot() const {
    Stats s;
    s.negotiation_cycles = negotiation_cycles.load(std::memory_order_relaxed);
    s.negotiation_micros = negotiation_micros.load(std::memory_order_relaxed);
    s.tensors_reduced = tensors_reduced.load(std::memory_order_relaxed);
    s.allreduce_calls = allreduce_calls.load(std::memory_order_relaxed);
    s.fused_allreduce_calls = fused_allreduce_calls.load(std::memory_order_relaxed);
    s.bytes_reduced = bytes_reduced.load(std::memory_order_relaxed);
    s.allgather_calls = allgather_calls.load(std::memory_order_relaxed);
    s.fused_allgather_calls = fused_allgather_calls.load(std::memory_order_relaxed);
    s.errors_reported = errors_reported.load(std::memory_order_relaxed);
    s.cache_hits = cache_hits.load(std::memory_order_relaxed);
    s.cache_misses = cache_misses.load(std::memory_order_relaxed);
    s.tensors_submitted = tensors_submitted.load(std::memory_order_relaxed);
    s.fusion_threshold_bytes = fusion_threshold_bytes.load(std::memory_order_relaxed);
    s.cycle_time_us = cycle_time_us.load(std::memory_order_relaxed);
    s.cache_enabled = cache_enabled.load(std::memory_order_relaxed);
    s.hierarchical_allreduce = hierarchical_allreduce.load(std::memory_order_relaxed);
    s.autotune_done = autotune_done.load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace hvd
