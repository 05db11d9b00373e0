// init/shutdown lifecycle with horovod_cpp owning MPI: errors before init, topology, idempotent
// init, pending ops failing at shutdown, and errors after shutdown. A plain main (no gtest)
// because MPI is finalized by hvd::shutdown() halfway through; each rank checks everything
// and exits non-zero on any failure, which fails the whole mpirun.
#include <cstdio>
#include <functional>
#include <string>

#include "horovod_cpp/torch.h"

namespace {

int passed = 0, failed = 0;

void check(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::fprintf(stderr, "lifecycle FAILED: %s\n", what.c_str());
  }
}

void check_throws(const std::function<void()>& f, const std::string& fragment,
                  const std::string& what) {
  try {
    f();
    check(false, what + ": no hvd::Error");
  } catch (const hvd::Error& e) {
    check(std::string(e.what()).find(fragment) != std::string::npos,
          what + ": message '" + e.what() + "' lacks '" + fragment + "'");
  }
}

}  // namespace

int main() {
  check(!hvd::is_initialized(), "not initialized at start");
  check_throws([] { hvd::rank(); }, "before hvd::init()", "rank() before init");
  check_throws([] { hvd::allreduce(torch::ones({1})); }, "before hvd::init()",
               "allreduce before init");

  hvd::init();
  hvd::init();  // idempotent
  check(hvd::is_initialized(), "initialized");
  const int rank = hvd::rank(), size = hvd::size();
  // Every rank of these tests runs on one host.
  check(hvd::local_rank() == rank, "local_rank == rank on one host");
  check(hvd::local_size() == size, "local_size == size on one host");
  check(hvd::cross_rank() == 0, "cross_rank == 0 on one host");
  check(hvd::cross_size() == 1, "cross_size == 1 on one host");
  check(hvd::mpi_built(), "mpi_built");

  auto sum = hvd::allreduce(torch::full({4}, rank + 1.0), hvd::ReduceOp::Sum, "sum");
  check(torch::equal(sum, torch::full({4}, size * (size + 1) / 2.0)), "allreduce after init");

  // A name only this rank submits can never complete: shutdown must fail it, not hang.
  hvd::Handle never = hvd::allreduce_async(torch::ones({2}), hvd::ReduceOp::Sum,
                                           "only.on.rank." + std::to_string(rank));
  hvd::shutdown();
  check(!hvd::is_initialized(), "not initialized after shutdown");
  check_throws([&] { hvd::synchronize(never); }, "shut down", "pending op fails at shutdown");
  hvd::shutdown();  // idempotent
  check_throws([] { hvd::rank(); }, "after hvd::shutdown()", "rank() after shutdown");
  check_throws([] { hvd::allreduce(torch::ones({1})); }, "after hvd::shutdown()",
               "allreduce after shutdown");
  check_throws([] { hvd::init(); }, "cannot start twice", "init after shutdown finalized MPI");

  std::printf("lifecycle rank %d: %d passed, %d failed\n", rank, passed, failed);
  return failed == 0 ? 0 : 1;
}
