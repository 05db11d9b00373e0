// Rank 0's watch over names that some ranks submitted and others have not: after
// HOROVOD_STALL_CHECK_TIME_SECONDS it produces a report naming, per op, the missing ranks
// (repeated at that period), and after HOROVOD_STALL_SHUTDOWN_TIME_SECONDS (if set) a reason
// to stop every rank's runtime, which then fails every pending op with that report.
// Thread: background only (of rank 0), through the Coordinator.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace hvd {

struct StallSettings {
  std::chrono::seconds check_time{60};
  std::chrono::seconds shutdown_time{0};  // 0: never stop for a stall
  bool disabled = false;
};

// One name waiting for some ranks.
struct WaitingOp {
  std::string description;   // "allreduce 'fc1.weight'"
  std::vector<int> missing;  // ranks that have neither submitted it nor joined
  std::chrono::steady_clock::time_point since;
};

struct StallVerdict {
  std::string report;        // non-empty: log it now
  std::string abort_reason;  // non-empty: stop every rank with this message
};

class StallInspector {
 public:
  explicit StallInspector(StallSettings settings);

  // `waiting` in submission order; `now` from a steady clock.
  StallVerdict inspect(const std::vector<WaitingOp>& waiting,
                       std::chrono::steady_clock::time_point now);

  static constexpr int kMaxListedOps = 20;

 private:
  const StallSettings settings_;
  bool reported_ = false;
  std::chrono::steady_clock::time_point last_report_;
};

}  // namespace hvd
