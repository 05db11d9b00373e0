// Stall detection across real MPI ranks, run with HOROVOD_STALL_CHECK_TIME_SECONDS=1 and
// HOROVOD_STALL_SHUTDOWN_TIME_SECONDS=3 (with the response cache on, and off). After two
// normal rounds of 'stalled.op', every rank but the last submits it again; the last
// rank never does, and does not call horovod_cpp at all for a while. Every rank must then see
// the stall error naming the op and the missing rank, on pending and later ops, and shut down
// cleanly. A plain main: the runtime stops halfway through. ctest's TIMEOUT bounds the run.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "horovod_cpp/torch.h"

namespace {

int failed = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failed;
    std::fprintf(stderr, "stall_test FAILED on rank %d: %s\n", hvd::rank(), what.c_str());
  }
}

void check_error(const std::function<void()>& f, const std::vector<std::string>& fragments,
                 const std::string& what) {
  try {
    f();
    check(false, what + ": no hvd::Error");
  } catch (const hvd::Error& e) {
    for (const auto& fragment : fragments) {
      check(std::string(e.what()).find(fragment) != std::string::npos,
            what + ": message '" + e.what() + "' lacks '" + fragment + "'");
    }
  }
}

}  // namespace

int main() {
  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  const int missing = size - 1;
  // Everyone works normally first, twice, so that 'stalled.op' is in the response cache and
  // the stall below starts as a cache hit on the ranks that submit it.
  for (int step = 0; step < 2; ++step) {
    auto ok = hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "stalled.op");
    check(torch::equal(ok, torch::full({2}, size, torch::kFloat32)), "allreduce before the stall");
  }

  const std::vector<std::string> fragments = {"stalled for 3 s", "allreduce 'stalled.op'",
                                              "missing rank " + std::to_string(missing)};
  const auto start = std::chrono::steady_clock::now();
  if (rank != missing) {
    check_error([] { hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "stalled.op"); },
                fragments, "the stalled op");
    const auto waited = std::chrono::steady_clock::now() - start;
    check(waited < std::chrono::seconds(30), "the stall error came within 30 s");
  } else {
    // This rank's user thread is busy elsewhere; its runtime still takes part in rounds.
    std::this_thread::sleep_for(std::chrono::seconds(6));
  }
  // The runtime has stopped everywhere: later ops fail with the same cause.
  check_error([] { hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "after.stall"); },
              fragments, "an op after the stall");
  hvd::shutdown();
  check(!hvd::is_initialized(), "shut down cleanly");
  if (failed == 0)
    std::printf("stall_test passed on rank %d\n", rank);
  return failed == 0 ? 0 : 1;
}
