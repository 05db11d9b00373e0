// A rank that fails on its own inside a collective the other ranks have entered (here: its
// allgather output cannot be allocated) cannot be waited for, and MPI offers no way out of a
// collective: the job must end at once, with that rank and its reason in the output, instead
// of hanging. ctest checks the output (PASS_REGULAR_EXPRESSION) and bounds the run (TIMEOUT).
// Uses the core's enqueue directly, to make one rank's allocation fail. With
// LOCAL_FAILURE_KILL set, the last rank is killed (SIGKILL) instead.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "horovod_cpp/global_state.h"
#include "horovod_cpp/horovod.h"

int main() {
  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  if (std::getenv("LOCAL_FAILURE_KILL") != nullptr) {
    // A rank dies outright (no handler runs) while the others wait for it in an op: mpirun
    // must end the job and say which rank died.
    if (rank == size - 1)
      raise(SIGKILL);
    std::vector<float> data(4, 1.0f);
    hvd::TensorTableEntry waiting;
    waiting.name = "never.completes";
    waiting.dtype = hvd::DataType::Float32;
    waiting.shape = {4};
    waiting.input = data.data();
    waiting.output = data.data();
    waiting.callback = [](const hvd::Status&) {};
    (void)hvd::current_runtime("local_failure_test").value()->enqueue(std::move(waiting));
    std::this_thread::sleep_for(std::chrono::seconds(40));
    std::printf("local_failure_test: rank %d NOT ABORTED after 40 s\n", rank);
    return 1;
  }
  std::shared_ptr<hvd::Runtime> runtime = hvd::current_runtime("local_failure_test").value();

  std::vector<float> input = {1.0f * rank, 2.0f * rank};
  std::vector<float> output;
  hvd::TensorTableEntry entry;
  entry.name = "gathered";
  entry.op = hvd::OpType::Allgather;
  entry.dtype = hvd::DataType::Float32;
  entry.shape = {2};
  entry.input = input.data();
  entry.allocate_output = [&](const std::vector<std::int64_t>& shape) -> hvd::StatusOr<void*> {
    if (rank == size - 1)
      return hvd::Status::error("out of memory (simulated) for the output");
    output.resize(static_cast<size_t>(shape[0]));
    return static_cast<void*>(output.data());
  };
  entry.callback = [](const hvd::Status&) {};
  if (!runtime->enqueue(std::move(entry)).is_ok()) {
    std::printf("local_failure_test: enqueue failed\n");
    return 1;
  }
  // The job should end long before this.
  std::this_thread::sleep_for(std::chrono::seconds(40));
  std::printf("local_failure_test: rank %d NOT ABORTED after 40 s\n", rank);
  return 1;
}
