// Soak test: many iterations of mixed collectives on every rank, checking each result, then
// reporting resident memory at start (after warm-up), halfway and at the end, and that no op
// or handle is left behind. Exits non-zero on a wrong result, a leftover, or RSS growth above
// --max-rss-growth-mib (0: report only).
//   mpirun -np 2 ./soak --iterations 20000
#include <horovod_cpp/torch.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
         (1024.0 * 1024.0);
}

// One iteration of every kind of op; returns the number of wrong results.
int run_iteration(int iteration, int rank, int size) {
  int wrong = 0;
  const auto ones = torch::ones({8});
  auto sum = hvd::allreduce(ones * (rank + 1), hvd::ReduceOp::Sum, "soak.allreduce");
  wrong += !torch::equal(sum, ones * (size * (size + 1) / 2));
  auto gathered = hvd::allgather(torch::full({rank + 1, 2}, rank, torch::kInt32), "soak.allgather");
  wrong += gathered.size(0) != size * (size + 1) / 2;
  auto root = iteration % size;
  auto bcast = hvd::broadcast(torch::full({4}, rank, torch::kInt64), root, "soak.broadcast");
  wrong += !torch::equal(bcast, torch::full({4}, root, torch::kInt64));
  auto [exchanged, splits] = hvd::alltoall(torch::full({size, 3}, rank, torch::kFloat64),
                                           torch::Tensor(), "soak.alltoall");
  wrong += !torch::equal(exchanged.select(1, 0), torch::arange(size, torch::kFloat64));
  auto scattered = hvd::reducescatter(torch::ones({2 * size}), hvd::ReduceOp::Sum, "soak.rs");
  wrong += !torch::equal(scattered, torch::full({2}, size, torch::kFloat32));
  if (iteration % 10 == 0) {
    auto group = hvd::grouped_allreduce({ones, ones * 2}, hvd::ReduceOp::Sum, "soak.group");
    wrong += !torch::equal(group[1], ones * 2 * size);
  }
  if (iteration % 100 == 0)
    hvd::barrier();
  // An async op left to complete while the next one is queued, then synchronized.
  auto h = hvd::allreduce_async(ones, hvd::ReduceOp::Max, "soak.async");
  wrong += !torch::equal(hvd::synchronize(h), ones);
  return wrong;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"horovod_cpp soak: mixed collectives, memory and table sizes over many iterations"};
  int iterations = 20000;
  int warmup = 200;
  double max_growth_mib = 0;
  app.add_option("--iterations", iterations, "timed iterations")->capture_default_str();
  app.add_option("--warmup", warmup, "iterations before the first RSS reading")
      ->capture_default_str();
  app.add_option("--max-rss-growth-mib", max_growth_mib,
                 "fail if RSS grows more than this from start to end (0: report only)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  int wrong = 0;
  for (int i = 0; i < warmup; ++i)
    wrong += run_iteration(i, rank, size);
  const double rss_start = rss_mib();
  double rss_half = rss_start;
  const hvd::Stats before = hvd::stats();
  for (int i = 0; i < iterations; ++i) {
    wrong += run_iteration(i, rank, size);
    if (i == iterations / 2)
      rss_half = rss_mib();
  }
  const double rss_end = rss_mib();
  const hvd::Stats after = hvd::stats();
  std::printf(
      "soak rank %d: %d iterations, %lld ops, %d wrong results; RSS %.1f MiB at start, "
      "%.1f halfway, %.1f at end (%+.1f); ops in flight %lld, handles outstanding %lld, "
      "cache hits %lld\n",
      rank, iterations, static_cast<long long>(after.tensors_submitted - before.tensors_submitted),
      wrong, rss_start, rss_half, rss_end, rss_end - rss_start,
      static_cast<long long>(after.ops_in_flight),
      static_cast<long long>(after.handles_outstanding),
      static_cast<long long>(after.cache_hits - before.cache_hits));
  bool ok = wrong == 0 && after.ops_in_flight == 0 && after.handles_outstanding == 0;
  if (max_growth_mib > 0 && rss_end - rss_start > max_growth_mib) {
    std::printf("soak rank %d: RSS grew %.1f MiB, more than %.1f\n", rank, rss_end - rss_start,
                max_growth_mib);
    ok = false;
  }
  hvd::shutdown();
  std::printf("soak rank %d: %s\n", rank, ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}
