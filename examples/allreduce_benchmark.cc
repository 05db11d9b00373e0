// Allreduce bandwidth and fusion benchmark: horovod_cpp against raw MPI on the same bytes,
// measured in the same run.
//   mpirun -np 2 ./allreduce_benchmark --csv out.csv
// For each size: algbw = bytes / time and busbw = algbw * 2(n-1)/n (the nccl-tests figure),
// for (a) MPI_Allreduce in place and (b) hvd::allreduce_ (Sum, in place), and their ratio.
// Then "many small tensors": 200 x 64 KiB submitted async and synchronized, against 200
// MPI_Allreduce calls. Times are the median of several repetitions, each the slowest rank's.
#include <horovod_cpp/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mpi.h>

namespace {

using Clock = std::chrono::steady_clock;

// Seconds per iteration of `body`, median over `reps` repetitions of `iters` iterations; each
// repetition starts together and counts the slowest rank.
double time_per_iteration(int reps, int iters, const std::function<void()>& body) {
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = Clock::now();
    for (int i = 0; i < iters; ++i)
      body();
    double mine = std::chrono::duration<double>(Clock::now() - start).count() / iters;
    double slowest = 0;
    MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    samples.push_back(slowest);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

int iterations_for(std::int64_t bytes) {
  // About 64 MiB of traffic per repetition, between 5 and 2000 iterations.
  return static_cast<int>(
      std::clamp<std::int64_t>((64LL << 20) / std::max<std::int64_t>(bytes, 1), 5, 2000));
}

std::string human_bytes(std::int64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"horovod_cpp allreduce benchmark: runtime vs raw MPI_Allreduce"};
  std::string csv_path;
  std::int64_t max_bytes = 256LL << 20;
  int reps = 5;
  int small_count = 200;
  std::int64_t small_bytes = 64 << 10;
  app.add_option("--csv", csv_path, "write results as CSV to this file");
  app.add_option("--max-bytes", max_bytes, "largest message size in bytes")->capture_default_str();
  app.add_option("--reps", reps, "repetitions per measurement (median)")->capture_default_str();
  app.add_option("--small-count", small_count, "tensors in the many-small case")
      ->capture_default_str();
  app.add_option("--small-bytes", small_bytes, "bytes per tensor in the many-small case")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  hvd::init();
  const int rank = hvd::rank(), size = hvd::size();
  const double bus_factor = 2.0 * (size - 1) / size;
  std::ofstream csv;
  if (rank == 0 && !csv_path.empty()) {
    csv.open(csv_path);
    csv << "case,ranks,bytes,raw_seconds,hvd_seconds,raw_algbw_gbps,hvd_algbw_gbps,"
           "raw_busbw_gbps,hvd_busbw_gbps,ratio_raw_over_hvd\n";
  }
  if (rank == 0) {
    std::printf("allreduce benchmark: %d ranks, float32 Sum in place, median of %d reps\n", size,
                reps);
    std::printf("%10s %12s %12s %12s %12s %8s\n", "size", "raw algbw", "hvd algbw", "raw busbw",
                "hvd busbw", "hvd/raw");
  }
  auto report = [&](const std::string& name, std::int64_t bytes, double raw, double hvd_s) {
    if (rank != 0)
      return;
    const double raw_alg = bytes / raw / 1e9, hvd_alg = bytes / hvd_s / 1e9;
    std::printf("%10s %9.3f GB/s %9.3f GB/s %9.3f GB/s %9.3f GB/s %8.3f\n",
                human_bytes(bytes).c_str(), raw_alg, hvd_alg, raw_alg * bus_factor,
                hvd_alg * bus_factor, raw / hvd_s);
    if (csv.is_open()) {
      csv << name << "," << size << "," << bytes << "," << raw << "," << hvd_s << "," << raw_alg
          << "," << hvd_alg << "," << raw_alg * bus_factor << "," << hvd_alg * bus_factor << ","
          << raw / hvd_s << "\n";
    }
  };

  for (std::int64_t bytes = 4; bytes <= max_bytes; bytes *= 4) {
    const std::int64_t n = bytes / 4;
    auto raw_buf = torch::ones({n});
    auto hvd_buf = torch::ones({n});
    const int iters = iterations_for(bytes);
    const std::string name = "sweep." + std::to_string(bytes);
    auto raw = [&] {
      MPI_Allreduce(MPI_IN_PLACE, raw_buf.data_ptr<float>(), static_cast<int>(n), MPI_FLOAT,
                    MPI_SUM, MPI_COMM_WORLD);
    };
    auto hvd_op = [&] { hvd::allreduce_(hvd_buf, hvd::ReduceOp::Sum, name); };
    raw();
    hvd_op();  // warm-up: first-use costs (buffers, connections) stay out of the figures
    double raw_s = time_per_iteration(reps, iters, raw);
    double hvd_s = time_per_iteration(reps, iters, hvd_op);
    report("sweep", bytes, raw_s, hvd_s);
  }

  // Many small tensors: the runtime may fuse them into few calls.
  const std::int64_t n_small = small_bytes / 4;
  std::vector<torch::Tensor> raw_tensors, hvd_tensors;
  for (int i = 0; i < small_count; ++i) {
    raw_tensors.push_back(torch::ones({n_small}));
    hvd_tensors.push_back(torch::ones({n_small}));
  }
  auto raw_many = [&] {
    for (auto& t : raw_tensors) {
      MPI_Allreduce(MPI_IN_PLACE, t.data_ptr<float>(), static_cast<int>(n_small), MPI_FLOAT,
                    MPI_SUM, MPI_COMM_WORLD);
    }
  };
  auto hvd_many = [&] {
    std::vector<hvd::Handle> handles;
    handles.reserve(hvd_tensors.size());
    for (size_t i = 0; i < hvd_tensors.size(); ++i) {
      handles.push_back(
          hvd::allreduce_async_(hvd_tensors[i], hvd::ReduceOp::Sum, "small." + std::to_string(i)));
    }
    for (auto h : handles)
      hvd::synchronize(h);
  };
  raw_many();
  hvd_many();
  const auto before = hvd::stats();
  const double raw_many_s = time_per_iteration(reps, 5, raw_many);
  const double hvd_many_s = time_per_iteration(reps, 5, hvd_many);
  const auto after = hvd::stats();
  if (rank == 0) {
    const double calls =
        static_cast<double>(after.allreduce_calls - before.allreduce_calls) / (5.0 * reps);
    std::printf(
        "many small: %d x %s: raw %d MPI calls %.3f ms, hvd %.3f ms (%.1f fused calls "
        "per step), hvd/raw speed %.2fx\n",
        small_count, human_bytes(small_bytes).c_str(), small_count, raw_many_s * 1e3,
        hvd_many_s * 1e3, calls, raw_many_s / hvd_many_s);
  }
  report("many_small", small_bytes * small_count, raw_many_s, hvd_many_s);
  hvd::shutdown();
  return 0;
}
