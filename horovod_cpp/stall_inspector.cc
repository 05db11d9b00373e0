#include "horovod_cpp/stall_inspector.h"

#include "horovod_cpp/rank_ranges.h"

namespace hvd {
namespace {

std::string describe_stalled(const std::vector<const WaitingOp*>& stalled,
                             std::chrono::steady_clock::time_point now) {
  std::string out;
  for (size_t i = 0; i < stalled.size() && i < StallInspector::kMaxListedOps; ++i) {
    const auto waited =
        std::chrono::duration_cast<std::chrono::seconds>(now - stalled[i]->since).count();
    out += "\n  " + stalled[i]->description + " (waiting " + std::to_string(waited) +
           " s): missing " + describe_ranks(stalled[i]->missing);
  }
  if (stalled.size() > StallInspector::kMaxListedOps) {
    out +=
        "\n  ... and " + std::to_string(stalled.size() - StallInspector::kMaxListedOps) + " more";
  }
  return out;
}

}  // namespace

StallInspector::StallInspector(StallSettings settings) : settings_(settings) {}

StallVerdict StallInspector::inspect(const std::vector<WaitingOp>& waiting,
                                     std::chrono::steady_clock::time_point now) {
  StallVerdict verdict;
  if (settings_.disabled)
    return verdict;
  std::vector<const WaitingOp*> stalled, past_shutdown, short_of_shutdown;
  for (const WaitingOp& op : waiting) {
    if (now - op.since >= settings_.check_time)
      stalled.push_back(&op);
    if (settings_.shutdown_time.count() > 0 && now - op.since >= settings_.shutdown_time)
      past_shutdown.push_back(&op);
    else
      short_of_shutdown.push_back(&op);
  }
  if (!past_shutdown.empty()) {
    // Every waiting op fails with this message, so it names them all, those that stopped the
    // job first: an op can reach the coordinator later than its peers' (a response cache hit
    // waits among the ranks that have it first), and a rank must see what it was stuck in.
    past_shutdown.insert(past_shutdown.end(), short_of_shutdown.begin(), short_of_shutdown.end());
    verdict.abort_reason = "horovod_cpp stopped: ops stalled for " +
                           std::to_string(settings_.shutdown_time.count()) +
                           " s (HOROVOD_STALL_SHUTDOWN_TIME_SECONDS) because some ranks never "
                           "submitted them:" +
                           describe_stalled(past_shutdown, now);
  }
  if (!stalled.empty() && (!reported_ || now - last_report_ >= settings_.check_time)) {
    reported_ = true;
    last_report_ = now;
    verdict.report = "stall: ops some ranks submitted at least " +
                     std::to_string(settings_.check_time.count()) +
                     " s ago (HOROVOD_STALL_CHECK_TIME_SECONDS) are still missing on other "
                     "ranks; those ranks may be stuck, or submitting different names:" +
                     describe_stalled(stalled, now);
  }
  return verdict;
}

}  // namespace hvd
