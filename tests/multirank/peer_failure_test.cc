// The root cause of a rank's departure reaches every other rank. After a few normal training
// steps, the last rank leaves in the way PEER_FAILURE_MODE names:
//   shutdown   it calls hvd::shutdown() mid-training;
//   exception  an exception escapes its main() (std::terminate);
//   exit       it returns from main() without calling hvd::shutdown().
// Every other rank must then see its pending op and a later op fail with
// "rank <last> shut down: <that reason>" within a bounded time.
//
// The test owns MPI (so the runtime leaves it up when it stops): the surviving ranks agree on
// a verdict over their own communicator and send it to the departed rank, which waits for it
// and exits with it, so that mpirun's exit status is the whole test's. A plain main, bounded
// by ctest's TIMEOUT.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include <mpi.h>

#include "horovod_cpp/torch.h"

namespace {

int world_rank = -1, world_size = 0;
int failed = 0;
constexpr int kVerdictTag = 17;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failed;
    std::fprintf(stderr, "peer_failure_test FAILED on rank %d: %s\n", world_rank, what.c_str());
  }
}

void check_error(const std::function<void()>& f, const std::string& fragment,
                 const std::string& what) {
  try {
    f();
    check(false, what + ": no hvd::Error");
  } catch (const hvd::Error& e) {
    check(std::string(e.what()).find(fragment) != std::string::npos,
          what + ": message '" + e.what() + "' lacks '" + fragment + "'");
  }
}

// The departed rank: wait for the survivors' verdict, then leave with it.
[[noreturn]] void exit_with_verdict() {
  int survivors_failed = 1;
  MPI_Recv(&survivors_failed, 1, MPI_INT, 0, kVerdictTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Finalize();
  std::fflush(nullptr);
  std::_Exit(survivors_failed == 0 && failed == 0 ? 0 : 1);
}

std::string expected_reason(const std::string& mode) {
  if (mode == "shutdown")
    return "hvd::shutdown() was called";
  if (mode == "exception")
    return "uncaught exception std::runtime_error: loss became NaN at step 3";
  return "the process exited without calling hvd::shutdown()";
}

}  // namespace

int main() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  const char* mode_env = std::getenv("PEER_FAILURE_MODE");
  const std::string mode = mode_env != nullptr ? mode_env : "";
  if (mode != "shutdown" && mode != "exception" && mode != "exit") {
    std::fprintf(stderr, "set PEER_FAILURE_MODE to shutdown, exception or exit\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const int departing = world_size - 1;
  MPI_Comm survivors = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank == departing ? MPI_UNDEFINED : 0, world_rank,
                 &survivors);
  // Installed before hvd::init(), so horovod_cpp's handlers run first and then hand over.
  if (world_rank == departing) {
    std::set_terminate([] { exit_with_verdict(); });
    std::atexit([] { exit_with_verdict(); });
  }

  hvd::init();
  const int size = hvd::size();
  for (int step = 0; step < 3; ++step) {
    auto sum = hvd::allreduce(torch::full({3}, world_rank + 1.0), hvd::ReduceOp::Sum, "grad");
    check(torch::equal(sum, torch::full({3}, size * (size + 1) / 2.0)), "training step");
  }
  const std::string reason =
      "rank " + std::to_string(departing) + " shut down: " + expected_reason(mode);

  if (world_rank == departing) {
    hvd::Handle mine = hvd::allreduce_async(torch::ones({2}), hvd::ReduceOp::Sum, "only.here");
    // Let the survivors' next op reach the coordinator first, so it is pending when we go.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    if (mode == "shutdown") {
      hvd::shutdown();
      check_error([&] { hvd::synchronize(mine); }, reason, "this rank's own pending op");
      exit_with_verdict();
    }
    if (mode == "exception")
      throw std::runtime_error("loss became NaN at step 3");
    return 0;  // mode "exit": the atexit hooks take over
  }

  const auto start = std::chrono::steady_clock::now();
  hvd::Handle pending = hvd::allreduce_async(torch::ones({2}), hvd::ReduceOp::Sum, "pending");
  check_error([&] { hvd::synchronize(pending); }, reason, "a pending op");
  check(std::chrono::steady_clock::now() - start < std::chrono::seconds(20),
        "the error came within 20 s");
  check_error([] { hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "later"); }, reason,
              "a later op");
  hvd::shutdown();

  int survivors_failed = 0;
  MPI_Allreduce(&failed, &survivors_failed, 1, MPI_INT, MPI_SUM, survivors);
  if (world_rank == 0) {
    MPI_Send(&survivors_failed, 1, MPI_INT, departing, kVerdictTag, MPI_COMM_WORLD);
    std::printf("peer_failure_test (%s): %d surviving ranks saw '%s'; %d checks failed\n",
                mode.c_str(), world_size - 1, reason.c_str(), survivors_failed);
  }
  MPI_Comm_free(&survivors);
  MPI_Finalize();
  return survivors_failed == 0 ? 0 : 1;
}
