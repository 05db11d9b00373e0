// CUDA tensors through the public API: every op gives on the GPU what the same op gives on
// the CPU, results stay on the caller's device, in-place ops reach non-contiguous tensors, the
// caller's stream order holds, and DistributedOptimizer trains a CUDA model to the same
// parameters as a CPU one. Run twice by ctest: one rank on the GPU data plane (NCCL), and two
// ranks staged through host memory (HOROVOD_GPU_OPERATIONS=MPI), which may share a GPU
// (local_rank % count).
// Without CUDA it exits 77 (ctest: skipped) and says why.
#include <cstdio>

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "horovod_cpp/torch.h"

// Streams need c10's CUDA headers, usable only with a CUDA LibTorch (CMake says which).
#ifdef HVD_TEST_TORCH_HAS_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <chrono>
#include <thread>
#endif

namespace {

torch::Device gpu() {
  return torch::Device(
      torch::kCUDA, static_cast<c10::DeviceIndex>(hvd::local_rank() %
                                                  static_cast<int>(torch::cuda::device_count())));
}

// Rank-dependent values, exact in every dtype used below (bool: alternating, shifted by rank).
torch::Tensor rank_values(torch::ScalarType dtype, std::vector<std::int64_t> shape) {
  torch::Tensor base = torch::arange(1, 1 + c10::multiply_integers(shape), torch::kFloat64);
  if (dtype == torch::kBool)
    return (base + hvd::rank()).remainder(2).reshape(shape).to(dtype);
  return ((base.remainder(7) + 1) * (hvd::rank() + 1)).reshape(shape).to(dtype);
}

const torch::ScalarType kReducible[] = {torch::kFloat32,  torch::kFloat64, torch::kFloat16,
                                        torch::kBFloat16, torch::kInt32,   torch::kInt64,
                                        torch::kUInt8,    torch::kInt8};

void expect_same(const torch::Tensor& on_gpu, const torch::Tensor& on_cpu, const char* what) {
  ASSERT_TRUE(on_gpu.is_cuda()) << what << ": result is on " << on_gpu.device().str();
  ASSERT_EQ(on_gpu.sizes(), on_cpu.sizes()) << what;
  ASSERT_TRUE(torch::equal(on_gpu.cpu(), on_cpu)) << what;
}

TEST(TorchCudaTest, AllreduceEveryDtypeAndOpMatchesTheCpuPath) {
  int n = 0;
  // Exact on 1 or 2 ranks: the largest product, 7 * 14, fits int8 and bf16.
  for (auto dtype : kReducible) {
    for (auto op : {hvd::ReduceOp::Sum, hvd::ReduceOp::Average, hvd::ReduceOp::Min,
                    hvd::ReduceOp::Max, hvd::ReduceOp::Product}) {
      const torch::Tensor cpu = rank_values(dtype, {3, 5});
      const std::string name = "dtype_op." + std::to_string(n++);
      torch::Tensor from_gpu = hvd::allreduce(cpu.to(gpu()), op, name + ".gpu");
      torch::Tensor from_cpu = hvd::allreduce(cpu, op, name + ".cpu");
      expect_same(from_gpu, from_cpu, name.c_str());
    }
  }
  // And against a value computed here: the sum of (k + 1) * (r + 1) over ranks.
  const torch::Tensor sum = hvd::allreduce(torch::ones({4}, gpu()), hvd::ReduceOp::Sum, "ones");
  EXPECT_TRUE(torch::equal(sum.cpu(), torch::full({4}, static_cast<float>(hvd::size()))));
}

TEST(TorchCudaTest, InPlaceReachesANonContiguousCudaTensor) {
  torch::Tensor base = rank_values(torch::kFloat32, {4, 6}).to(gpu());
  torch::Tensor transposed = base.t();  // a view, not contiguous
  ASSERT_FALSE(transposed.is_contiguous());
  hvd::allreduce_(transposed, hvd::ReduceOp::Sum, "in_place.t", 2.0, 0.5);
  torch::Tensor expected = rank_values(torch::kFloat32, {4, 6});
  expected = hvd::allreduce(expected, hvd::ReduceOp::Sum, "in_place.cpu", 2.0, 0.5);
  expect_same(base, expected, "base of the transposed view");
}

TEST(TorchCudaTest, OtherCollectivesGiveCpuResultsOnTheGpu) {
  const int size = hvd::size();
  const torch::Tensor rows = rank_values(torch::kFloat32, {2 * size, 3});
  expect_same(hvd::allgather(rows.to(gpu()), "ag.gpu"), hvd::allgather(rows, "ag.cpu"),
              "allgather");
  expect_same(hvd::broadcast(rows.to(gpu()), size - 1, "bc.gpu"),
              hvd::broadcast(rows, size - 1, "bc.cpu"), "broadcast");
  torch::Tensor in_place = rows.to(gpu());
  hvd::broadcast_(in_place, 0, "bc_.gpu");
  expect_same(in_place, hvd::broadcast(rows, 0, "bc_.cpu"), "broadcast_");
  expect_same(hvd::reducescatter(rows.to(gpu()), hvd::ReduceOp::Sum, "rs.gpu"),
              hvd::reducescatter(rows, hvd::ReduceOp::Sum, "rs.cpu"), "reducescatter");
  auto [a2a_gpu, splits_gpu] = hvd::alltoall(rows.to(gpu()), torch::Tensor(), "a2a.gpu");
  auto [a2a_cpu, splits_cpu] = hvd::alltoall(rows, torch::Tensor(), "a2a.cpu");
  expect_same(a2a_gpu, a2a_cpu, "alltoall");
  EXPECT_TRUE(torch::equal(splits_gpu, splits_cpu));
  auto grouped_gpu = hvd::grouped_allreduce({rows.to(gpu()), rows.to(gpu()) * 2},
                                            hvd::ReduceOp::Sum, "grouped.gpu");
  auto grouped_cpu = hvd::grouped_allreduce({rows, rows * 2}, hvd::ReduceOp::Sum, "grouped.cpu");
  ASSERT_EQ(grouped_gpu.size(), 2u);
  expect_same(grouped_gpu[0], grouped_cpu[0], "grouped 0");
  expect_same(grouped_gpu[1], grouped_cpu[1], "grouped 1");
}

TEST(TorchCudaTest, EveryDtypeThroughTheOtherCollectivesMatchesTheCpuPath) {
  const int size = hvd::size();
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kFloat16, torch::kBFloat16,
                     torch::kInt32, torch::kInt64, torch::kUInt8, torch::kInt8, torch::kBool}) {
    const std::string name = c10::toString(dtype);
    // Rows differ by rank, so the gather is uneven (one NCCL broadcast per rank).
    const torch::Tensor mine = rank_values(dtype, {hvd::rank() + 1, 3});
    expect_same(hvd::allgather(mine.to(gpu()), "ag.gpu." + name),
                hvd::allgather(mine, "ag.cpu." + name), ("allgather " + name).c_str());
    const torch::Tensor rows = rank_values(dtype, {2 * size + 1, 2});
    expect_same(hvd::broadcast(rows.to(gpu()), size - 1, "bc.gpu." + name),
                hvd::broadcast(rows, size - 1, "bc.cpu." + name), ("broadcast " + name).c_str());
    // Uneven too: q + 1 rows to rank q.
    const torch::Tensor splits = torch::arange(1, size + 1, torch::kInt64);
    const torch::Tensor sent = rank_values(dtype, {size * (size + 1) / 2, 2});
    auto [a2a_gpu, splits_gpu] = hvd::alltoall(sent.to(gpu()), splits, "a2a.gpu." + name);
    auto [a2a_cpu, splits_cpu] = hvd::alltoall(sent, splits, "a2a.cpu." + name);
    expect_same(a2a_gpu, a2a_cpu, ("alltoall " + name).c_str());
    EXPECT_TRUE(torch::equal(splits_gpu, splits_cpu)) << name;
  }
  // Uneven blocks (2 * size + 1 rows): one NCCL reduce per rank.
  for (auto dtype : kReducible) {
    for (auto op : {hvd::ReduceOp::Sum, hvd::ReduceOp::Average}) {
      const std::string name =
          std::string(c10::toString(dtype)) + (op == hvd::ReduceOp::Sum ? ".sum" : ".average");
      const torch::Tensor rows = rank_values(dtype, {2 * size + 1, 2});
      expect_same(hvd::reducescatter(rows.to(gpu()), op, "rs.gpu." + name),
                  hvd::reducescatter(rows, op, "rs.cpu." + name),
                  ("reducescatter " + name).c_str());
    }
  }
}

TEST(TorchCudaTest, CudaOnOneRankAndCpuOnAnotherIsAnErrorEverywhere) {
  if (hvd::size() < 2)
    GTEST_SKIP() << "needs two ranks";
  const torch::Tensor cpu = torch::ones({3});
  std::string message;
  try {
    hvd::allreduce(hvd::rank() == 0 ? cpu.to(gpu()) : cpu, hvd::ReduceOp::Sum, "mixed.devices");
  } catch (const hvd::Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("'mixed.devices'"), std::string::npos) << message;
  EXPECT_NE(message.find("device kind"), std::string::npos) << message;
  // The runtime stays usable.
  EXPECT_TRUE(torch::equal(hvd::allreduce(cpu.to(gpu()), hvd::ReduceOp::Sum, "after").cpu(),
                           cpu * hvd::size()));
}

#ifdef HVD_TEST_TORCH_HAS_CUDA
// About 5 TFLOP queued on the current stream: tens of ms on any current GPU. Returns a scalar
// of 1 that is ready only once it has all run.
torch::Tensor one_after_long_work() {
  torch::Tensor a = torch::full({4096, 4096}, 1.0f / 4096, gpu());
  torch::Tensor busy = a;
  for (int i = 0; i < 40; ++i)
    busy = torch::matmul(busy, a);
  return busy.sum().mul(0).add(1);
}

TEST(TorchCudaTest, TheCallersStreamOrderHolds) {
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, gpu().index());
  c10::cuda::CUDAStreamGuard guard(stream);
  torch::Tensor t = torch::ones({1 << 20}, gpu());
  // Queued on `stream` before the allreduce, and long enough that a reduction not ordered
  // after it would read ones: the reduction must see threes.
  t.mul_(one_after_long_work().mul(3));
  torch::Tensor sum = hvd::allreduce(t, hvd::ReduceOp::Sum, "stream.order");
  sum.add_(1.0);  // queued after synchronize: sees the result
  torch::cuda::synchronize();
  EXPECT_TRUE(torch::equal(sum.cpu(), torch::full({1 << 20}, 3.0f * hvd::size() + 1)));
  // In place too: the result is copied back on `stream` (staged: without waiting for it).
  torch::Tensor u = torch::ones({1 << 20}, gpu());
  u.mul_(one_after_long_work().mul(2));
  hvd::allreduce_(u, hvd::ReduceOp::Sum, "stream.order.in_place");
  u.add_(1.0);
  torch::cuda::synchronize();
  EXPECT_TRUE(torch::equal(u.cpu(), torch::full({1 << 20}, 2.0f * hvd::size() + 1)));
}

TEST(TorchCudaTest, ACopyBackOnAnotherStreamReadsItsSourceBeforeTheBlockIsReused) {
  const c10::DeviceIndex index = gpu().index();
  c10::cuda::CUDAStream queued_on = c10::cuda::getStreamFromPool(false, index);
  c10::cuda::CUDAStream synchronized_on = c10::cuda::getStreamFromPool(false, index);
  const std::vector<int64_t> shape = {1237, 5};  // odd: its block is the next of its size
  torch::Tensor base = torch::ones(shape, gpu());
  torch::cuda::synchronize();
  torch::Tensor view = base.t();  // not contiguous: reduced through a copy, copied back
  hvd::Handle h = 0;
  {
    c10::cuda::CUDAStreamGuard guard(queued_on);
    h = hvd::allreduce_async_(view, hvd::ReduceOp::Sum, "other_stream.in_place");
  }
  {
    // The copy back waits behind long work; its source's block belongs to queued_on's pool.
    c10::cuda::CUDAStreamGuard guard(synchronized_on);
    (void)one_after_long_work();
    (void)hvd::synchronize(h);
  }
  {
    // Idle, so this runs at once: in the source's block, were it handed out again already.
    c10::cuda::CUDAStreamGuard guard(queued_on);
    (void)torch::full({shape[1], shape[0]}, -7.0f, gpu());
    torch::cuda::synchronize();
  }
  EXPECT_TRUE(torch::equal(base.cpu(), torch::full(shape, static_cast<float>(hvd::size()))));
}

TEST(TorchCudaTest, QueueingAnOpDoesNotWaitForTheCallersStream) {
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, gpu().index());
  c10::cuda::CUDAStreamGuard guard(stream);
  torch::Tensor t = torch::ones({1 << 16}, gpu());
  t.mul_(one_after_long_work().mul(3));  // threes, but only once the matmuls ran
  const hvd::Handle h = hvd::allreduce_async(t, hvd::ReduceOp::Sum, "stream.no_wait");
  // Neither path (the plane's event, or the staging copy queued on the stream) waited here.
  EXPECT_FALSE(stream.query()) << "allreduce_async() returned only after the caller's stream ran";
  torch::Tensor sum = hvd::synchronize(h);
  torch::cuda::synchronize();
  EXPECT_TRUE(torch::equal(sum.cpu(), torch::full({1 << 16}, 3.0f * hvd::size())));
}

// A graph captured in CUDA's default (global) mode forbids event queries on every thread that
// has not opted out; the runtime's threads poll all the time, and must neither fail nor break
// the capture.
TEST(TorchCudaTest, CapturingAGraphWhileAnOpIsInFlightBreaksNeither) {
  const c10::DeviceIndex index = gpu().index();
  c10::cuda::CUDAStream work = c10::cuda::getStreamFromPool(false, index);
  c10::cuda::CUDAStream capturing = c10::cuda::getStreamFromPool(false, index);
  const torch::Tensor x = torch::ones({256}, gpu());
  torch::Tensor y = torch::zeros({256}, gpu());
  torch::Tensor t = torch::ones({1 << 16}, gpu());
  torch::cuda::synchronize();
  hvd::Handle h = 0;
  {
    c10::cuda::CUDAStreamGuard guard(work);
    t.mul_(one_after_long_work().mul(3));
    h = hvd::allreduce_async(t, hvd::ReduceOp::Sum, "in_flight.during_capture");
  }
  at::cuda::CUDAGraph graph;
  {
    c10::cuda::CUDAStreamGuard guard(capturing);
    EXPECT_FALSE(hvd::poll(h)) << "the op finished before the capture began: nothing was tested";
    graph.capture_begin();
    y.copy_(x * 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the runtime polls meanwhile
    graph.capture_end();
    graph.replay();
  }
  torch::Tensor sum = hvd::synchronize(h);
  torch::cuda::synchronize();
  EXPECT_TRUE(torch::equal(y.cpu(), torch::full({256}, 2.0f)));
  EXPECT_TRUE(torch::equal(sum.cpu(), torch::full({1 << 16}, 3.0f * hvd::size())));
}

// Captured, the op's work would run only when the graph is replayed, outside the runtime's
// negotiation: refused, on every path, and the capture goes on.
TEST(TorchCudaTest, AnOpQueuedFromACapturingStreamIsRefusedAndTheCaptureGoesOn) {
  c10::cuda::CUDAStream capturing = c10::cuda::getStreamFromPool(false, gpu().index());
  c10::cuda::CUDAStreamGuard guard(capturing);
  const torch::Tensor x = torch::ones({256}, gpu());
  torch::Tensor y = torch::zeros({256}, gpu());
  torch::cuda::synchronize();
  at::cuda::CUDAGraph graph;
  graph.capture_begin();
  y.copy_(x * 2);
  std::string message;
  try {
    (void)hvd::allreduce(x, hvd::ReduceOp::Sum, "queued.in_capture");
  } catch (const std::exception& e) {
    message = e.what();
  }
  graph.capture_end();
  EXPECT_NE(message.find("capturing a CUDA graph"), std::string::npos) << message;
  graph.replay();
  torch::cuda::synchronize();
  EXPECT_TRUE(torch::equal(y.cpu(), torch::full({256}, 2.0f)));
  // Refused before anything reached the runtime: the same name is free, and ops go on.
  EXPECT_TRUE(torch::equal(hvd::allreduce(x, hvd::ReduceOp::Sum, "queued.in_capture").cpu(),
                           torch::full({256}, static_cast<float>(hvd::size()))));
}
#endif

TEST(TorchCudaTest, DistributedOptimizerTrainsACudaModelLikeACpuOne) {
  torch::manual_seed(0);
  torch::nn::Linear cpu_model(8, 3);
  torch::nn::Linear gpu_model(8, 3);
  {
    torch::NoGradGuard no_grad;
    gpu_model->weight.copy_(cpu_model->weight);
    gpu_model->bias.copy_(cpu_model->bias);
  }
  gpu_model->to(gpu());
  torch::optim::SGD cpu_sgd(cpu_model->parameters(), 0.1);
  torch::optim::SGD gpu_sgd(gpu_model->parameters(), 0.1);
  hvd::DistributedOptimizer cpu_opt(cpu_sgd, cpu_model->named_parameters());
  hvd::DistributedOptimizer gpu_opt(gpu_sgd, gpu_model->named_parameters());
  for (int step = 0; step < 5; ++step) {
    const torch::Tensor x = rank_values(torch::kFloat32, {16, 8}) / 10 + step;
    cpu_opt.zero_grad();
    cpu_model->forward(x).pow(2).mean().backward();
    cpu_opt.step();
    gpu_opt.zero_grad();
    gpu_model->forward(x.to(gpu())).pow(2).mean().backward();
    gpu_opt.step();
  }
  EXPECT_TRUE(torch::allclose(gpu_model->weight.cpu(), cpu_model->weight, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(gpu_model->bias.cpu(), cpu_model->bias, 1e-4, 1e-5));
}

}  // namespace

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::printf(
        "SKIPPED: torch::cuda::is_available() is false: no CUDA device, or a "
        "LibTorch built without CUDA\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  hvd::init();
  const int result = RUN_ALL_TESTS();
  hvd::shutdown();
  return result;
}
