// What the GPU data plane costs over raw CUDA and NCCL calls, on one GPU and one rank, as
// ratios measured in the same run (issue 6's benchmark):
//   fusion:  --tensors tensors of --tensor-kib KiB allreduced together through horovod_cpp
//            (copied into the device fusion buffer, one NCCL call, copied out) against the
//            same bytes as one tensor (one NCCL call, no copies); the difference is the
//            copies' cost, set against raw device-to-device cudaMemcpyAsync of those bytes in
//            and out;
//   latency: a 4-byte and a 64 MiB allreduce through horovod_cpp (queued, negotiated, run on
//            the plane's stream, completed by the finalizer) against a raw ncclAllReduce on a
//            one-rank communicator followed by a stream synchronize.
// Built only where CUDA tensors take the GPU data plane (LibTorch with CUDA, NCCL).
//   mpirun -np 1 ./gpu_benchmark --csv gpu.csv
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <horovod_cpp/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nccl.h>
#include <torch/cuda.h>

namespace {

using Clock = std::chrono::steady_clock;

// Seconds per call of `body`, after `warmup` untimed calls, with the device drained before
// and after.
double seconds_per_call(int warmup, int iters, const std::function<void()>& body) {
  for (int i = 0; i < warmup; ++i)
    body();
  torch::cuda::synchronize();
  const auto start = Clock::now();
  for (int i = 0; i < iters; ++i)
    body();
  torch::cuda::synchronize();
  return std::chrono::duration<double>(Clock::now() - start).count() / iters;
}

void check_cuda(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess)
    throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(rc));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"GPU data plane against raw CUDA copies and raw NCCL calls"};
  int tensors = 64, tensor_kib = 256, iters = 50, warmup = 5;
  std::string csv_path;
  app.add_option("--tensors", tensors, "tensors fused together")->capture_default_str();
  app.add_option("--tensor-kib", tensor_kib, "size of each, KiB")->capture_default_str();
  app.add_option("--iters", iters, "timed calls per case")->capture_default_str();
  app.add_option("--warmup", warmup, "untimed calls first")->capture_default_str();
  app.add_option("--csv", csv_path, "append the result rows to this CSV file");
  CLI11_PARSE(app, argc, argv);
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "gpu_benchmark: this LibTorch sees no CUDA device\n");
    return 2;
  }
  hvd::init();
  if (!hvd::nccl_built() || hvd::size() != 1) {
    std::fprintf(stderr,
                 "gpu_benchmark: needs one rank and a build with the GPU data plane "
                 "(nccl_built() = %d, ranks = %d)\n",
                 hvd::nccl_built() ? 1 : 0, hvd::size());
    hvd::shutdown();
    return 2;
  }
  const int device_index = 0;
  const torch::Device device(torch::kCUDA, device_index);
  c10::cuda::CUDAGuard guard(device);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_index).stream();
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const int64_t per_tensor = static_cast<int64_t>(tensor_kib) * 1024 / 4;
  const int64_t total_bytes = per_tensor * 4 * tensors;
  std::vector<std::string> rows;

  // Fusion.
  std::vector<torch::Tensor> parts;
  for (int i = 0; i < tensors; ++i)
    parts.push_back(torch::ones({per_tensor}, options));
  torch::Tensor whole = torch::ones({per_tensor * tensors}, options);
  torch::Tensor staging = torch::empty({per_tensor * tensors}, options);
  const double fused = seconds_per_call(warmup, iters, [&] {
    std::vector<hvd::Handle> handles;
    for (int i = 0; i < tensors; ++i) {
      parts[i].fill_(1.0f);  // keep the values bounded
      handles.push_back(
          hvd::allreduce_async_(parts[i], hvd::ReduceOp::Sum, "fused." + std::to_string(i)));
    }
    for (hvd::Handle h : handles)
      hvd::synchronize(h);
  });
  const double one_tensor = seconds_per_call(warmup, iters, [&] {
    whole.fill_(1.0f);
    hvd::allreduce_(whole, hvd::ReduceOp::Sum, "whole");
  });
  const double raw_copies = seconds_per_call(warmup, iters, [&] {
    for (int i = 0; i < tensors; ++i)
      parts[i].fill_(1.0f);  // the same fills as the fused case
    char* buffer = static_cast<char*>(staging.data_ptr());
    const size_t bytes = static_cast<size_t>(per_tensor) * 4;
    for (int i = 0; i < tensors; ++i) {
      check_cuda(cudaMemcpyAsync(buffer + i * bytes, parts[i].data_ptr(), bytes,
                                 cudaMemcpyDeviceToDevice, stream),
                 "copy in");
    }
    for (int i = 0; i < tensors; ++i) {
      check_cuda(cudaMemcpyAsync(parts[i].data_ptr(), buffer + i * bytes, bytes,
                                 cudaMemcpyDeviceToDevice, stream),
                 "copy out");
    }
  });
  const double copies = fused - one_tensor;
  std::printf(
      "fusion: %d x %d KiB fused %.1f us, as one tensor %.1f us: the copies cost "
      "%.1f us, raw copies in and out %.1f us (ratio %.2f; %.1f GB/s against %.1f)\n",
      tensors, tensor_kib, fused * 1e6, one_tensor * 1e6, copies * 1e6, raw_copies * 1e6,
      copies / raw_copies, 2.0 * total_bytes / copies / 1e9, 2.0 * total_bytes / raw_copies / 1e9);
  rows.push_back("fusion," + std::to_string(total_bytes) + "," + std::to_string(fused * 1e6) + "," +
                 std::to_string(one_tensor * 1e6) + "," + std::to_string(raw_copies * 1e6));

  // Latency against raw NCCL.
  ncclComm_t comm = nullptr;
  int devices[1] = {device_index};
  check_nccl(ncclCommInitAll(&comm, 1, devices), "ncclCommInitAll");
  for (const int64_t bytes : {int64_t{4}, int64_t{64} << 20}) {
    torch::Tensor x = torch::ones({bytes / 4}, options);
    const double through_hvd =
        seconds_per_call(warmup, iters, [&] { hvd::allreduce_(x, hvd::ReduceOp::Sum, "latency"); });
    const double raw = seconds_per_call(warmup, iters, [&] {
      check_nccl(ncclAllReduce(x.data_ptr(), x.data_ptr(), static_cast<size_t>(bytes / 4),
                               ncclFloat, ncclSum, comm, stream),
                 "ncclAllReduce");
      check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    });
    std::printf(
        "allreduce of %lld bytes: horovod_cpp %.1f us, raw NCCL %.1f us (ratio %.2f, "
        "%+.1f us)\n",
        static_cast<long long>(bytes), through_hvd * 1e6, raw * 1e6, through_hvd / raw,
        (through_hvd - raw) * 1e6);
    rows.push_back("latency," + std::to_string(bytes) + "," + std::to_string(through_hvd * 1e6) +
                   "," + std::to_string(raw * 1e6) + ",");
  }
  ncclCommDestroy(comm);
  if (!csv_path.empty()) {
    const bool header = !std::ifstream(csv_path).good();
    std::ofstream csv(csv_path, std::ios::app);
    if (header)
      csv << "case,bytes,hvd_us,baseline_us,raw_copies_us\n";
    for (const std::string& row : rows)
      csv << row << "\n";
  }
  hvd::shutdown();
  return 0;
}
