// One round of the negotiation protocol, identical on every rank.
//
// Coordinator path (always, when the response cache is off):
//   1. Every rank serializes the requests that became ready locally since the last round
//      (plus its shutdown flag) and gathers them to rank 0.
//   2. Rank 0 feeds them to its Coordinator, which matches names across ranks, validates
//      complete ones and fuses compatible responses.
//   3. Rank 0 broadcasts the resulting ResponseList; every rank then executes exactly that
//      list, in order, so collective calls match everywhere.
//
// With the response cache (HOROVOD_CACHE_CAPACITY > 0), every round starts with one bitwise
// AND allreduce of a small bit vector instead:
//   word 0      inverted flags (so AND computes OR): "I need the coordinator" (uncached or
//               outstanding requests, shutdown, invalidations) and "I have not joined";
//   hit words   bit b set: cache entry b is ready here (a joined rank sets every bit, since
//               it will run any allreduce with zeros);
//   invalid     inverted: "evict entry b everywhere" (its parameters changed here, or a hit
//               has waited over hit_hold_limit for other ranks, which hands it to the
//               coordinator, whose stall inspector can then see it).
// Bits ready everywhere become single-tensor responses from the cache, in bit order, fused
// by the same planner; held hits wait for a later round. If any rank needs the coordinator,
// the coordinator path follows in the same round and its successful allreduces enter the
// cache on every rank, in response order. So the steady state of a training loop costs one
// small allreduce per round, and every change to the cache is one all ranks see alike.
//
// Autotuning may switch a configured cache off and on again; every rank does so after the
// same round (apply_tuning), starting from an empty cache.
//
// Thread: background only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "horovod_cpp/autotuner.h"
#include "horovod_cpp/control_channel.h"
#include "horovod_cpp/coordinator.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/response_cache.h"
#include "horovod_cpp/runtime_counters.h"

namespace hvd {

struct ControllerOptions {
  std::int64_t fusion_threshold_bytes = 64LL * 1024 * 1024;
  StallSettings stall;
  int cache_capacity = 0;  // 0: every round goes through the coordinator
  std::chrono::milliseconds hit_hold_limit{1000};
  bool autotune = false;  // rank 0 then runs an Autotuner
  AutotuneOptions autotune_options;
  std::int64_t cycle_time_us = 1000;    // the autotuner's starting point
  bool hierarchical_allreduce = false;  // the autotuner's starting point (the runtime applies it)
  // Hold times and autotuning samples read this clock; empty: std::chrono::steady_clock.
  // (Tests make the autotuner's choice deterministic with it.)
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class Controller {
 public:
  // `channel` is owned by the caller and outlives the controller; so does `counters`, which
  // may be null.
  Controller(ControlChannel* channel, ControllerOptions options,
             RuntimeCounters* counters = nullptr);
  // The coordinator path only (no response cache).
  Controller(ControlChannel* channel, std::int64_t fusion_threshold_bytes)
      : Controller(channel, coordinator_only(fusion_threshold_bytes)) {}

  StatusOr<ResponseList> negotiate(const RequestList& mine);
  // Rank 0 only; 0 elsewhere.
  std::size_t pending_on_coordinator() const;
  // In effect now (autotuning changes it on every rank in the same round).
  std::int64_t fusion_threshold_bytes() const { return fusion_threshold_bytes_; }
  bool cache_enabled() const { return cache_ != nullptr; }

 private:
  struct HeldHit {
    Request request;
    std::chrono::steady_clock::time_point since;
  };

  static ControllerOptions coordinator_only(std::int64_t fusion_threshold_bytes) {
    ControllerOptions options;
    options.fusion_threshold_bytes = fusion_threshold_bytes;
    return options;
  }
  StatusOr<ResponseList> coordinator_round(const RequestList& mine);
  StatusOr<ResponseList> cached_round(const RequestList& mine);
  // A configured cache switched off by autotuning: the coordinator path, keeping sent_ and
  // joined_ for the cache's return.
  StatusOr<ResponseList> cache_off_round(const RequestList& mine);
  // Sorts new requests into held hits and requests for the coordinator; marks entries whose
  // parameters changed, and hits held too long, for eviction.
  void classify(const RequestList& mine, std::vector<std::uint64_t>* invalid, RequestList* slow);
  // After a coordinator round: cache its allreduces, forget what it answered.
  void learn(const ResponseList& coordinated);
  // Every rank, after a coordinator round: adopt the tuning parameters it carries.
  void apply_tuning(const ResponseList& list);
  void switch_cache(bool on);
  std::chrono::steady_clock::time_point now() const {
    return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
  }

  ControlChannel* const channel_;
  const ControllerOptions options_;
  RuntimeCounters* const counters_;
  std::int64_t fusion_threshold_bytes_;
  std::unique_ptr<Coordinator> coordinator_;       // rank 0 only
  std::unique_ptr<Autotuner> autotuner_;           // rank 0 only, with autotune on
  std::unique_ptr<ResponseCache> cache_;           // null when the cache is off (now)
  std::map<int, HeldHit> held_;                    // bit -> ready here, not yet everywhere
  std::unordered_map<std::string, Request> sent_;  // with the coordinator, unanswered
  std::vector<Request> carry_;  // held hits whose entry was evicted: to the coordinator next
  bool joined_ = false;         // our join is negotiating
};

}  // namespace hvd
