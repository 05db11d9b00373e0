// Steady-state negotiation benchmark: the gradient set of ResNet-50 (161 tensors, 25.6 M float
// parameters, shapes as torchvision defines them) allreduced every iteration, as a training
// loop does, for
//   (a) horovod_cpp with the response cache (HOROVOD_CACHE_CAPACITY=1024),
//   (b) horovod_cpp without it (HOROVOD_CACHE_CAPACITY=0),
//   (c) raw MPI_Allreduce per tensor,
//   (d) one raw MPI_Allreduce of all the bytes at once (the lower bound),
//   (e) all the bytes in one buffer, reduced in raw MPI calls of 16 MiB (what horovod_cpp
//       does with a fused buffer; on Open MPI with glibc, calls above 32 MiB pay page faults
//       on fresh scratch every time, see collectives/mpi_allreduce.cc),
// then (f) the tensors under 1 MiB alone (the only ones horovod_cpp fuses), through horovod_cpp
// with the cache and as raw calls, which bounds what fusion can gain on this set, and then the
// round trip of one 4-byte allreduce through the runtime against raw MPI.
// The program owns MPI, so it can start horovod_cpp once per cache setting; the settings
// alternate over --sessions, and within a session (a) or (b), (c) and (e) alternate in
// --blocks blocks, so that the machine's drift falls on all of them alike.
//   mpirun -np 2 ./steady_state_benchmark --csv out.csv
#include <horovod_cpp/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mpi.h>

namespace {

using Clock = std::chrono::steady_clock;

// horovod_cpp reduces allreduces of this size and up alone, in place (kMinUnfusedAllreduceBytes).
constexpr int64_t kUnfusedBytes = 1 << 20;

// Parameter shapes of torchvision's resnet50(), in model order.
std::vector<std::vector<int64_t>> resnet50_parameter_shapes() {
  std::vector<std::vector<int64_t>> shapes = {{64, 3, 7, 7}, {64}, {64}};
  auto conv_bn = [&](int64_t out, int64_t in, int64_t k) {
    shapes.push_back({out, in, k, k});
    shapes.push_back({out});
    shapes.push_back({out});
  };
  int64_t in = 64;
  const int64_t widths[] = {64, 128, 256, 512};
  const int blocks[] = {3, 4, 6, 3};
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t w = widths[layer];
    for (int b = 0; b < blocks[layer]; ++b) {
      conv_bn(w, in, 1);
      conv_bn(w, w, 3);
      conv_bn(4 * w, w, 1);
      if (b == 0)
        conv_bn(4 * w, in, 1);  // downsample
      in = 4 * w;
    }
  }
  shapes.push_back({1000, 2048});
  shapes.push_back({1000});
  return shapes;
}

// Seconds per iteration, over `iters` iterations started together; the slowest rank counts.
double time_per_iteration(int iters, const std::function<void()>& body) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i)
    body();
  double mine = std::chrono::duration<double>(Clock::now() - start).count() / iters;
  double slowest = 0;
  MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t half = v.size() / 2;
  return v.size() % 2 ? v[half] : (v[half - 1] + v[half]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"horovod_cpp steady-state benchmark: ResNet-50 gradients, cache on/off vs raw MPI"};
  std::string csv_path;
  int iters = 200;
  int sessions = 2;
  int latency_iters = 2000;
  int blocks = 10;
  app.add_option("--csv", csv_path, "write results as CSV to this file");
  app.add_option("--iters", iters, "iterations per variant and session")->capture_default_str();
  app.add_option("--sessions", sessions, "runtime sessions per cache setting, alternating")
      ->capture_default_str();
  app.add_option("--latency-iters", latency_iters, "4-byte round trips per measurement")
      ->capture_default_str();
  app.add_option("--blocks", blocks, "blocks per session; the variants alternate block by block")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  const auto shapes = resnet50_parameter_shapes();
  std::vector<torch::Tensor> grads;
  int64_t elements = 0;
  for (const auto& s : shapes) {
    grads.push_back(torch::zeros(s));  // zeros: repeated Sums stay finite
    elements += grads.back().numel();
  }
  auto flat = torch::zeros({elements});
  if (rank == 0) {
    std::printf(
        "steady state: %d ranks, ResNet-50 gradients: %zu tensors, %.2f M float32 (%.1f "
        "MiB), %d iterations per measurement, %d sessions per cache setting\n",
        size, grads.size(), elements / 1e6, elements * 4 / 1048576.0, iters, sessions);
  }

  std::vector<size_t> all_tensors, small_tensors;
  for (size_t i = 0; i < grads.size(); ++i) {
    all_tensors.push_back(i);
    if (grads[i].numel() * 4 < kUnfusedBytes)
      small_tensors.push_back(i);
  }
  auto raw_calls = [&](const std::vector<size_t>& which) {
    for (size_t i : which) {
      torch::Tensor& g = grads[i];
      MPI_Allreduce(MPI_IN_PLACE, g.data_ptr<float>(), static_cast<int>(g.numel()), MPI_FLOAT,
                    MPI_SUM, MPI_COMM_WORLD);
    }
  };
  auto raw_per_tensor = [&] { raw_calls(all_tensors); };
  auto raw_one_call = [&] {
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(elements), MPI_FLOAT,
                  MPI_SUM, MPI_COMM_WORLD);
  };
  auto raw_chunked = [&] {
    constexpr int64_t kChunk = 4 << 20;  // floats: 16 MiB
    for (int64_t done = 0; done < elements; done += kChunk) {
      MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>() + done,
                    static_cast<int>(std::min(kChunk, elements - done)), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    }
  };
  auto hvd_calls = [&](const std::vector<size_t>& which) {
    std::vector<hvd::Handle> handles;
    handles.reserve(which.size());
    for (size_t i : which) {
      handles.push_back(hvd::allreduce_async_(grads[i], hvd::ReduceOp::Sum,
                                              "resnet50.grad." + std::to_string(i)));
    }
    for (auto h : handles)
      hvd::synchronize(h);
  };
  auto hvd_step = [&] { hvd_calls(all_tensors); };
  auto scalar = torch::zeros({1});
  float raw_scalar = 0;
  auto hvd_latency = [&] { hvd::allreduce_(scalar, hvd::ReduceOp::Sum, "latency.scalar"); };
  auto raw_latency = [&] {
    MPI_Allreduce(MPI_IN_PLACE, &raw_scalar, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };

  // Within each runtime session the variants alternate in blocks of iterations, so that the
  // machine's drift (large on a shared VM) falls on all of them alike.
  const int block_iters = std::max(1, iters / blocks);
  std::map<std::string, std::vector<double>> samples;
  for (int session = 0; session < 2 * sessions; ++session) {
    const bool cached = session % 2 == 0;
    setenv("HOROVOD_CACHE_CAPACITY", cached ? "1024" : "0", 1);
    hvd::init();
    hvd_step();  // warm-up: names negotiated (and cached), buffers grown
    raw_per_tensor();
    raw_chunked();
    hvd::Stats during_steps;  // counted over the (a)/(b) iterations only
    auto add_delta = [&](const hvd::Stats& before, const hvd::Stats& after) {
      during_steps.allreduce_calls += after.allreduce_calls - before.allreduce_calls;
      during_steps.cache_hits += after.cache_hits - before.cache_hits;
      during_steps.negotiation_cycles += after.negotiation_cycles - before.negotiation_cycles;
      during_steps.negotiation_micros += after.negotiation_micros - before.negotiation_micros;
    };
    for (int block = 0; block < blocks; ++block) {
      const hvd::Stats before = hvd::stats();
      const double hvd_time = time_per_iteration(block_iters, hvd_step);
      add_delta(before, hvd::stats());
      const double raw_time = time_per_iteration(block_iters, raw_per_tensor);
      samples[cached ? "a_hvd_cache" : "b_hvd_nocache"].push_back(hvd_time);
      samples["c_raw_per_tensor"].push_back(raw_time);
      // Speed of horovod_cpp against (c) in the same block.
      samples[cached ? "speedup_a_over_c" : "speedup_b_over_c"].push_back(raw_time / hvd_time);
      samples["e_raw_chunked"].push_back(time_per_iteration(block_iters, raw_chunked));
      if (cached) {
        const double small_hvd = time_per_iteration(block_iters, [&] { hvd_calls(small_tensors); });
        const double small_raw = time_per_iteration(block_iters, [&] { raw_calls(small_tensors); });
        samples["f_small_hvd_cache"].push_back(small_hvd);
        samples["f_small_raw"].push_back(small_raw);
        samples["speedup_small_over_raw"].push_back(small_raw / small_hvd);
      }
    }
    samples[cached ? "latency_hvd_cache" : "latency_hvd_nocache"].push_back(
        time_per_iteration(latency_iters, hvd_latency));
    samples["latency_raw"].push_back(time_per_iteration(latency_iters, raw_latency));
    if (rank == 0) {
      const double steps = static_cast<double>(blocks) * block_iters;
      std::printf(
          "  session %d (cache %s): %.1f MPI allreduce calls per iteration, %.0f%% cache hits, "
          "%.1f negotiation rounds per iteration taking %.2f ms\n",
          session, cached ? "on" : "off", static_cast<double>(during_steps.allreduce_calls) / steps,
          100.0 * static_cast<double>(during_steps.cache_hits) /
              std::max<double>(1, static_cast<double>(grads.size()) * steps),
          static_cast<double>(during_steps.negotiation_cycles) / steps,
          static_cast<double>(during_steps.negotiation_micros) / steps / 1e3);
    }
    hvd::shutdown();
    // (d) is slow (page faults on every call, see above): a few iterations per session.
    raw_one_call();
    samples["d_raw_one_call"].push_back(time_per_iteration(std::min(iters, 10), raw_one_call));
  }

  if (rank == 0) {
    const double a = median(samples["a_hvd_cache"]), b = median(samples["b_hvd_nocache"]);
    const double c = median(samples["c_raw_per_tensor"]), d = median(samples["d_raw_one_call"]);
    const double e = median(samples["e_raw_chunked"]);
    std::printf("time per iteration (medians over blocks of %d iterations):\n", block_iters);
    std::printf("  (a) horovod_cpp, cache on     %8.2f ms   %.2fx of (d)\n", a * 1e3, a / d);
    std::printf("  (b) horovod_cpp, cache off    %8.2f ms   %.2fx of (d)\n", b * 1e3, b / d);
    std::printf("  (c) raw MPI, one per tensor   %8.2f ms   %.2fx of (d)\n", c * 1e3, c / d);
    std::printf("  (d) raw MPI, one call         %8.2f ms\n", d * 1e3);
    std::printf("  (e) raw MPI, 16 MiB calls     %8.2f ms   %.2fx of (d); (a) is %.2fx of (e)\n",
                e * 1e3, e / d, a / e);
    std::printf(
        "  (a) is %.2fx faster than (c), %.2fx faster than (b); block by block, (a) ran at "
        "%.2fx the speed of (c) and (b) at %.2fx (medians)\n",
        c / a, b / a, median(samples["speedup_a_over_c"]), median(samples["speedup_b_over_c"]));
    std::printf(
        "  (f) the %zu tensors under 1 MiB alone: horovod_cpp (cache on) %.2f ms, raw MPI per "
        "tensor %.2f ms; block by block horovod_cpp ran at %.2fx their speed\n",
        small_tensors.size(), median(samples["f_small_hvd_cache"]) * 1e3,
        median(samples["f_small_raw"]) * 1e3, median(samples["speedup_small_over_raw"]));
    const double la = median(samples["latency_hvd_cache"]);
    const double lb = median(samples["latency_hvd_nocache"]);
    const double lr = median(samples["latency_raw"]);
    std::printf(
        "4-byte allreduce round trip: raw %.1f us, horovod_cpp %.1f us (cache on), %.1f "
        "us (cache off)\n",
        lr * 1e6, la * 1e6, lb * 1e6);
    if (!csv_path.empty()) {
      std::ofstream csv(csv_path);
      csv << "case,ranks,session,seconds\n";
      for (const auto& [name, values] : samples) {
        for (size_t i = 0; i < values.size(); ++i)
          csv << name << "," << size << "," << i << "," << values[i] << "\n";
      }
    }
  }
  MPI_Finalize();
  return 0;
}
