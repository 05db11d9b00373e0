// The CUDA + NCCL data plane (collectives/cuda_device_plane.h) on a real device, one rank:
// the scaled-copy kernel against the host's scaled_copy for every dtype (the same bytes), an
// allreduce that waits for a ready event recorded on another stream held up for 200 ms,
// zeroed memory, the fusion buffer growing behind queued work, empty tensors, the caller's
// current device left alone, and completion polls. Average over one rank is the identity:
// NCCL's Average across ranks awaits a machine with two GPUs. CudaContexts (two GPUs or more)
// runs in a process of its own (ctest gpu.cuda_contexts.np1): that a ready event made and
// dropped on threads that never used CUDA leaves GPU 0 without a context. Without a visible
// CUDA device it exits 77 (ctest: skipped) and says why.
#include "collectives/cuda_device_plane.h"

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <mpi.h>

#include "collectives/cuda_device_scope.h"
#include "collectives/cuda_devices.h"
#include "collectives/cuda_ready_event.h"
#include "collectives/half.h"
#include "collectives/mpi_context.h"
#include "collectives/scaled_copy.h"

namespace hvd {
namespace {

std::unique_ptr<MpiContext> g_mpi;

// Polls until the plane's queued work has run; fails the test on an error or after 60 s.
// Setup written with cudaMemset or from pageable memory may still be in flight on the legacy
// default stream, which the plane's non-blocking stream does not wait for.
void settle_setup() {
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

void finish(DevicePlane& plane) {
  CompletionFinalizer::Poll poll = plane.completion();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    StatusOr<bool> done = poll();
    ASSERT_TRUE(done.is_ok()) << done.status().message();
    if (done.value())
      return;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the device never finished";
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

struct DeviceBytes {
  explicit DeviceBytes(size_t n) : size(n) { EXPECT_EQ(cudaMalloc(&ptr, n ? n : 1), cudaSuccess); }
  ~DeviceBytes() { cudaFree(ptr); }
  void* ptr = nullptr;
  size_t size;
};

std::unique_ptr<DevicePlane> make_plane() {
  auto plane = CudaDevicePlane::create(0, *g_mpi);
  EXPECT_TRUE(plane.is_ok()) << plane.status().message();
  return plane.is_ok() ? std::move(plane).value() : nullptr;
}

// Host bytes of `values` in `dtype`, through the host's own conversion (scaled_copy from
// doubles is not available, so go through float64 and a host scaled copy of factor 1).
std::vector<unsigned char> host_values(DataType dtype, size_t n) {
  std::vector<unsigned char> bytes(n * element_size_bytes(dtype));
  for (size_t i = 0; i < n; ++i) {
    const double v = (static_cast<double>(i % 11) - 5.0) * (i % 2 ? 1.0 : 37.25) +
                     (i % 7 == 0 ? 1e10 : 0.0);  // some beyond every integer range but int64
    unsigned char* out = bytes.data() + i * element_size_bytes(dtype);
    switch (dtype) {
      case DataType::UInt8:
        *out = static_cast<std::uint8_t>(static_cast<std::int64_t>(v) & 0xff);
        break;
      case DataType::Int8:
        *reinterpret_cast<std::int8_t*>(out) =
            static_cast<std::int8_t>(static_cast<std::int64_t>(v) % 100);
        break;
      case DataType::Int32:
        *reinterpret_cast<std::int32_t*>(out) = static_cast<std::int32_t>(v / 8);
        break;
      case DataType::Int64:
        *reinterpret_cast<std::int64_t*>(out) = static_cast<std::int64_t>(v * 1e8);
        break;
      case DataType::Float16:
        *reinterpret_cast<std::uint16_t*>(out) = float_to_float16(static_cast<float>(v / 1e7));
        break;
      case DataType::BFloat16:
        *reinterpret_cast<std::uint16_t*>(out) = float_to_bfloat16(static_cast<float>(v));
        break;
      case DataType::Float32:
        *reinterpret_cast<float*>(out) = static_cast<float>(v);
        break;
      case DataType::Float64:
        *reinterpret_cast<double*>(out) = v;
        break;
      case DataType::Bool:
        break;
    }
  }
  return bytes;
}

TEST(CudaDevicePlane, ScaledCopyMatchesTheHostBitForBit) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  // More elements than one pass of the grid-stride loop covers (its grid is capped at 4096
  // blocks of 256 threads), so the loop goes round.
  const size_t n = (size_t{1} << 20) + 100003;
  for (DataType dtype :
       {DataType::UInt8, DataType::Int8, DataType::Int32, DataType::Int64, DataType::Float16,
        DataType::BFloat16, DataType::Float32, DataType::Float64}) {
    for (double factor : {1.0, 0.5, 3.0, -1.75, 1e12}) {
      const std::vector<unsigned char> in = host_values(dtype, n);
      std::vector<unsigned char> want(in.size());
      scaled_copy(in.data(), want.data(), static_cast<std::int64_t>(n), dtype, factor);
      DeviceBytes src(in.size()), dst(in.size());
      ASSERT_EQ(cudaMemcpy(src.ptr, in.data(), in.size(), cudaMemcpyHostToDevice), cudaSuccess);
      ASSERT_NO_FATAL_FAILURE(settle_setup());
      ASSERT_TRUE(plane->scaled_copy(src.ptr, dst.ptr, static_cast<std::int64_t>(n), dtype, factor)
                      .is_ok());
      ASSERT_NO_FATAL_FAILURE(finish(*plane));
      std::vector<unsigned char> got(in.size());
      ASSERT_EQ(cudaMemcpy(got.data(), dst.ptr, got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_EQ(got, want) << data_type_name(dtype) << " x " << factor;
    }
  }
}

TEST(CudaDevicePlane, BatchedScaledCopiesMatchTheHostBitForBit) {
  // More copies than one batch holds, empty ones, ones past the size that gets its own launch,
  // and one in place; each lands in its own slice of one destination.
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  std::vector<size_t> counts;
  for (size_t i = 0; i < 150; ++i)
    counts.push_back(i % 10 == 0 ? 0 : 1 + (i * 7919) % 5000);
  counts.push_back(300001);  // over 1 MiB for 4- and 8-byte types
  size_t total = 0;
  for (size_t n : counts)
    total += n;
  for (DataType dtype :
       {DataType::UInt8, DataType::Int8, DataType::Int32, DataType::Int64, DataType::Float16,
        DataType::BFloat16, DataType::Float32, DataType::Float64}) {
    const size_t width = static_cast<size_t>(element_size_bytes(dtype));
    for (double factor : {1.0, 0.5, -1.75, 1e12}) {
      const std::vector<unsigned char> in = host_values(dtype, total);
      std::vector<unsigned char> want(in.size());
      scaled_copy(in.data(), want.data(), static_cast<std::int64_t>(total), dtype, factor);
      DeviceBytes src(in.size()), dst(in.size());
      ASSERT_EQ(cudaMemcpy(src.ptr, in.data(), in.size(), cudaMemcpyHostToDevice), cudaSuccess);
      ASSERT_EQ(cudaMemset(dst.ptr, 0, dst.size), cudaSuccess);
      // The last copy is in place, in `dst`: its source is what `src` holds there.
      const size_t last_offset = (total - counts.back()) * width;
      ASSERT_EQ(cudaMemcpy(static_cast<char*>(dst.ptr) + last_offset, in.data() + last_offset,
                           counts.back() * width, cudaMemcpyHostToDevice),
                cudaSuccess);
      ASSERT_NO_FATAL_FAILURE(settle_setup());
      std::vector<DeviceCopy> copies;
      size_t offset = 0;
      for (size_t c = 0; c < counts.size(); ++c) {
        const bool in_place = c + 1 == counts.size();
        char* target = static_cast<char*>(dst.ptr) + offset * width;
        copies.push_back(
            DeviceCopy{in_place ? target : static_cast<const char*>(src.ptr) + offset * width,
                       target, static_cast<std::int64_t>(counts[c])});
        offset += counts[c];
      }
      ASSERT_TRUE(plane->scaled_copies(copies, dtype, factor).is_ok());
      ASSERT_NO_FATAL_FAILURE(finish(*plane));
      std::vector<unsigned char> got(in.size());
      ASSERT_EQ(cudaMemcpy(got.data(), dst.ptr, got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_EQ(got, want) << data_type_name(dtype) << " x " << factor;
    }
  }
}

// Holds up the stream it is queued on for 200 ms.
void CUDART_CB hold_up(void*) {
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

TEST(CudaDevicePlane, AllreduceWaitsForTheReadyEventAndZeroedIsZero) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  const size_t n = 1 << 20;
  float* host = nullptr;  // pinned, so the copy below is truly asynchronous
  ASSERT_EQ(cudaMallocHost(&host, n * sizeof(float)), cudaSuccess);
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<float>(i % 13);
  DeviceBytes input(n * sizeof(float)), output(n * sizeof(float)), later(n * sizeof(float));
  ASSERT_EQ(cudaMemset(input.ptr, 0xff, input.size), cudaSuccess);
  ASSERT_NO_FATAL_FAILURE(settle_setup());
  cudaStream_t user = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&user, cudaStreamNonBlocking), cudaSuccess);
  // The input arrives on the user's stream 200 ms from now; only the event orders the plane
  // after it (a plane that ignored it would reduce the NaNs there now).
  ASSERT_EQ(cudaLaunchHostFunc(user, hold_up, nullptr), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(input.ptr, host, input.size, cudaMemcpyHostToDevice, user),
            cudaSuccess);
  auto ready = CudaReadyEvent::record(0, user);
  ASSERT_TRUE(ready.is_ok()) << ready.status().message();
  // Not yet (the user's stream is held up for 200 ms), and asking does not wait.
  const StatusOr<bool> early = ready.value()->happened();
  ASSERT_TRUE(early.is_ok()) << early.status().message();
  EXPECT_FALSE(early.value());
  ASSERT_TRUE(plane->wait_for(*ready.value()).is_ok());
  auto buffer = plane->fusion_buffer(static_cast<std::int64_t>(input.size));
  ASSERT_TRUE(buffer.is_ok()) << buffer.status().message();
  ASSERT_TRUE(plane->scaled_copy(input.ptr, buffer.value(), n, DataType::Float32, 2.0).is_ok());
  ASSERT_TRUE(
      plane->allreduce(buffer.value(), buffer.value(), n, DataType::Float32, ReduceOp::Average)
          .is_ok());
  ASSERT_TRUE(plane->scaled_copy(buffer.value(), output.ptr, n, DataType::Float32, 1.0).is_ok());
  // Growing the buffer frees the old one after the work queued on it, not before.
  auto bigger = plane->fusion_buffer(static_cast<std::int64_t>(input.size) * 2);
  ASSERT_TRUE(bigger.is_ok()) << bigger.status().message();
  ASSERT_TRUE(plane->scaled_copy(output.ptr, bigger.value(), n, DataType::Float32, 1.0).is_ok());
  ASSERT_TRUE(plane->scaled_copy(bigger.value(), later.ptr, n, DataType::Float32, 1.0).is_ok());
  auto zeros = plane->zeroed(4096);
  ASSERT_TRUE(zeros.is_ok()) << zeros.status().message();
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
  const StatusOr<bool> late = ready.value()->happened();
  ASSERT_TRUE(late.is_ok()) << late.status().message();
  EXPECT_TRUE(late.value());
  std::vector<float> got(n), got_later(n);
  ASSERT_EQ(cudaMemcpy(got.data(), output.ptr, output.size, cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(got_later.data(), later.ptr, later.size, cudaMemcpyDeviceToHost),
            cudaSuccess);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(got[i], 2.0f * host[i]) << "element " << i;  // one rank: the average is itself
    ASSERT_EQ(got_later[i], got[i]) << "element " << i;
  }
  std::vector<unsigned char> zero_bytes(4096, 1);
  ASSERT_EQ(cudaMemcpy(zero_bytes.data(), zeros.value().get(), 4096, cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_EQ(zero_bytes, std::vector<unsigned char>(4096, 0));
  cudaStreamDestroy(user);
  cudaFreeHost(host);
}

// With one GPU, `other` is 0 and this checks little: see the fresh-thread test below.
TEST(CudaDevicePlane, RecordingAReadyEventLeavesTheCallersDeviceAlone) {
  const int count = visible_cuda_devices().count;
  const int other = count > 1 ? 1 : 0;
  ASSERT_EQ(cudaSetDevice(other), cudaSuccess);
  auto ready = CudaReadyEvent::record(0, nullptr);
  ASSERT_TRUE(ready.is_ok()) << ready.status().message();
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, other);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

TEST(CudaDevicePlane, AllgatherAndBroadcastOnOneRankMoveTheBytes) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  std::vector<unsigned char> bytes(1001);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(i * 7);
  DeviceBytes send(bytes.size()), recv(bytes.size());
  ASSERT_EQ(cudaMemcpy(send.ptr, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(recv.ptr, 0, recv.size), cudaSuccess);
  ASSERT_NO_FATAL_FAILURE(settle_setup());
  ASSERT_TRUE(
      plane->allgather(send.ptr, recv.ptr, {static_cast<std::int64_t>(bytes.size())}).is_ok());
  ASSERT_TRUE(
      plane->broadcast(recv.ptr, static_cast<std::int64_t>(bytes.size()), DataType::UInt8, 0)
          .is_ok());
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
  std::vector<unsigned char> got(bytes.size());
  ASSERT_EQ(cudaMemcpy(got.data(), recv.ptr, got.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(got, bytes);
}

TEST(CudaDevicePlane, ReducescatterAndAlltoallOnOneRankKeepTheRanksBlock) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 8.0f, -0.5f};
  const std::size_t bytes = values.size() * sizeof(float);
  DeviceBytes send(bytes), scattered(bytes), exchanged(bytes);
  ASSERT_EQ(cudaMemcpy(send.ptr, values.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(scattered.ptr, 0, bytes), cudaSuccess);
  ASSERT_EQ(cudaMemset(exchanged.ptr, 0, bytes), cudaSuccess);
  ASSERT_NO_FATAL_FAILURE(settle_setup());
  const auto count = static_cast<std::int64_t>(values.size());
  // One rank: its block is everything, and the reduction of one contribution is itself.
  ASSERT_TRUE(
      plane->reducescatter(send.ptr, scattered.ptr, {count}, DataType::Float32, ReduceOp::Max)
          .is_ok());
  ASSERT_TRUE(plane
                  ->alltoall(send.ptr, {static_cast<std::int64_t>(bytes)}, exchanged.ptr,
                             {static_cast<std::int64_t>(bytes)})
                  .is_ok());
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
  for (DeviceBytes* out : {&scattered, &exchanged}) {
    std::vector<float> got(values.size());
    ASSERT_EQ(cudaMemcpy(got.data(), out->ptr, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
    EXPECT_EQ(got, values);
  }
}

TEST(CudaDevicePlane, HierarchicalStepsOnOneRankRoundTripThroughPageLockedMemory) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  const std::vector<double> values = {0.5, -3.0, 1e300, 7.25};
  const std::size_t bytes = values.size() * sizeof(double);
  const auto count = static_cast<std::int64_t>(values.size());
  DeviceBytes send(bytes), shard(bytes), gathered(bytes);
  ASSERT_EQ(cudaMemcpy(send.ptr, values.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_NO_FATAL_FAILURE(settle_setup());
  // The local communicator (of this one rank) is made by the first local call.
  ASSERT_TRUE(
      plane->local_reducescatter(send.ptr, shard.ptr, {count}, DataType::Float64, ReduceOp::Sum)
          .is_ok());
  auto host = plane->host_buffer(static_cast<std::int64_t>(bytes));
  ASSERT_TRUE(host.is_ok()) << host.status().message();
  ASSERT_TRUE(
      plane->copy_to_host(shard.ptr, host.value(), static_cast<std::int64_t>(bytes)).is_ok());
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
  auto* staged = static_cast<double*>(host.value());
  EXPECT_EQ(std::vector<double>(staged, staged + values.size()), values);
  for (std::size_t i = 0; i < values.size(); ++i)
    staged[i] *= 2;
  ASSERT_TRUE(
      plane->copy_to_device(host.value(), shard.ptr, static_cast<std::int64_t>(bytes)).is_ok());
  ASSERT_TRUE(
      plane->local_allgather(shard.ptr, gathered.ptr, {static_cast<std::int64_t>(bytes)}).is_ok());
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
  std::vector<double> got(values.size());
  ASSERT_EQ(cudaMemcpy(got.data(), gathered.ptr, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(got[i], values[i] * 2) << i;
  // A larger request replaces the buffer; the smaller one is still served by it.
  auto larger = plane->host_buffer(static_cast<std::int64_t>(4 * bytes));
  ASSERT_TRUE(larger.is_ok());
  EXPECT_EQ(plane->host_buffer(static_cast<std::int64_t>(bytes)).value(), larger.value());
}

TEST(CudaDevicePlane, EmptyTensorsSkipTheCollective) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  ASSERT_TRUE(plane->allreduce(nullptr, nullptr, 0, DataType::Float32, ReduceOp::Sum).is_ok());
  ASSERT_TRUE(plane->broadcast(nullptr, 0, DataType::Int64, 0).is_ok());
  ASSERT_TRUE(plane->allgather(nullptr, nullptr, {0}).is_ok());
  ASSERT_TRUE(plane->reducescatter(nullptr, nullptr, {0}, DataType::Int32, ReduceOp::Sum).is_ok());
  ASSERT_TRUE(plane->alltoall(nullptr, {0}, nullptr, {0}).is_ok());
  ASSERT_NO_FATAL_FAILURE(finish(*plane));
}

TEST(CudaDevicePlane, ADeviceBeyondTheVisibleOnesIsAnErrorNamingBoth) {
  auto plane = CudaDevicePlane::create(visible_cuda_devices().count, *g_mpi);
  ASSERT_FALSE(plane.is_ok());
  EXPECT_NE(
      plane.status().message().find("selects GPU " + std::to_string(visible_cuda_devices().count)),
      std::string::npos)
      << plane.status().message();
}

// A driver call, looked up through the runtime as the plane does (the test links no libcuda).
template <typename Function>
Function driver_call(const char* symbol) {
  void* function = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
  EXPECT_EQ(cudaGetDriverEntryPointByVersion(symbol, &function, 12000, cudaEnableDefault, &found),
            cudaSuccess);
#else
  EXPECT_EQ(cudaGetDriverEntryPoint(symbol, &function, cudaEnableDefault, &found), cudaSuccess);
#endif
  EXPECT_EQ(found, cudaDriverEntryPointSuccess) << symbol;
  return reinterpret_cast<Function>(function);
}

// Whether this process holds GPU `ordinal`'s primary context (what the runtime makes).
bool has_context_on(int ordinal) {
  static const auto device_get = driver_call<CUresult (*)(CUdevice*, int)>("cuDeviceGet");
  static const auto state =
      driver_call<CUresult (*)(CUdevice, unsigned*, int*)>("cuDevicePrimaryCtxGetState");
  CUdevice device = 0;
  unsigned flags = 0;
  int active = 0;
  EXPECT_EQ(device_get(&device, ordinal), CUDA_SUCCESS);
  EXPECT_EQ(state(device, &flags, &active), CUDA_SUCCESS);
  return active != 0;
}

CUcontext current_context() {
  static const auto get = driver_call<CUresult (*)(CUcontext*)>("cuCtxGetCurrent");
  CUcontext context = nullptr;
  EXPECT_EQ(get(&context), CUDA_SUCCESS);
  return context;
}

// The one-GPU part of CudaContexts below: a user's thread that never selected a device has no
// current context, and recording, re-recording and dropping a ready event leave it so.
TEST(CudaDevicePlane, AReadyEventLeavesAFreshThreadWithoutACurrentContext) {
  std::shared_ptr<const CudaReadyEvent> ready;
  std::thread([&] {
    ASSERT_EQ(current_context(), nullptr) << "a fresh thread already had a context";
    auto recorded = CudaReadyEvent::record(0, nullptr);
    ASSERT_TRUE(recorded.is_ok()) << recorded.status().message();
    ready = std::move(recorded).value();
    EXPECT_EQ(current_context(), nullptr) << "recording left the thread on a context";
    EXPECT_TRUE(rerecord_cuda_ready_event(*ready, 0, nullptr).is_ok());
    EXPECT_EQ(current_context(), nullptr) << "re-recording left the thread on a context";
  }).join();
  ASSERT_NE(ready, nullptr);
  std::thread([&] {
    ready.reset();
    EXPECT_EQ(current_context(), nullptr) << "dropping the event left the thread on a context";
  }).join();
}

// A graph captured in CUDA's default (global) mode forbids event queries on threads that have
// not opted out: the finalizer's poll must still work, and leave the capture valid; and an op
// may not be queued from the capturing stream.
TEST(CudaDevicePlane, ACaptureInGlobalModeBreaksNeitherThePlanesPollNorTheCapture) {
  auto plane = make_plane();
  ASSERT_NE(plane, nullptr);
  const CompletionFinalizer::Poll done = plane->completion();
  void* scratch = nullptr;
  ASSERT_EQ(cudaMalloc(&scratch, 256), cudaSuccess);
  cudaStream_t user = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&user, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(user, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(scratch, 0, 256, user), cudaSuccess);
  auto refused = CudaReadyEvent::record(plane->device(), user);
  StatusOr<bool> polled = false;
  std::thread([&] { polled = done(); }).join();  // as the finalizer thread, meanwhile
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(user, &graph), cudaSuccess) << "the capture was invalidated";
  if (graph != nullptr)
    cudaGraphDestroy(graph);
  ASSERT_FALSE(refused.is_ok()) << "a ready event was recorded into the capture";
  EXPECT_NE(refused.status().message().find("capturing a CUDA graph"), std::string::npos)
      << refused.status().message();
  EXPECT_TRUE(polled.is_ok()) << polled.status().message();
  cudaStreamDestroy(user);
  cudaFree(scratch);
}

TEST(CudaContexts, AReadyEventOnFreshThreadsLeavesGpu0WithoutAContext) {
  if (visible_cuda_devices().count < 2)
    GTEST_SKIP() << "needs two GPUs: with one, every rank's context is on GPU 0 anyway";
  if (has_context_on(0))
    GTEST_SKIP() << "GPU 0 already has a context in this process: run alone (ctest "
                    "gpu.cuda_contexts.np1)";
  // As a rank on GPU 1 whose user thread never selected a device (torch's guards put back
  // only devices that have a context): record, re-record, and drop the last reference on
  // other such threads, the way the finalizer's callbacks can.
  std::shared_ptr<const CudaReadyEvent> ready;
  std::thread([&] {
    auto recorded = CudaReadyEvent::record(1, nullptr);
    ASSERT_TRUE(recorded.is_ok()) << recorded.status().message();
    ready = std::move(recorded).value();
    EXPECT_EQ(current_context(), nullptr) << "the user's thread was left on a context";
    EXPECT_TRUE(rerecord_cuda_ready_event(*ready, 1, nullptr).is_ok());
    EXPECT_EQ(current_context(), nullptr);
  }).join();
  ASSERT_NE(ready, nullptr);
  EXPECT_TRUE(has_context_on(1));
  EXPECT_FALSE(has_context_on(0)) << "recording on GPU 1 made a context on GPU 0";
  std::thread([&] {
    ready.reset();
    EXPECT_EQ(current_context(), nullptr);
  }).join();
  EXPECT_FALSE(has_context_on(0)) << "dropping the event made a context on GPU 0";
  // The scope puts back a context that was current, not only "none" (this makes GPU 0's).
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  const CUcontext on_gpu1 = current_context();
  ASSERT_NE(on_gpu1, nullptr);
  {
    CudaDeviceScope scope(0);
    EXPECT_EQ(scope.selected(), cudaSuccess);
    EXPECT_NE(current_context(), on_gpu1);
  }
  EXPECT_EQ(current_context(), on_gpu1);
}

}  // namespace
}  // namespace hvd

int main(int argc, char** argv) {
  const hvd::CudaDevices devices = hvd::visible_cuda_devices();
  if (devices.count == 0) {
    std::printf("SKIPPED: no CUDA device: %s\n", devices.why_none.c_str());
    return 77;
  }
  const char* filter = std::getenv("GTEST_FILTER");
  if (devices.count < 2 && filter != nullptr && std::strncmp(filter, "CudaContexts.", 13) == 0) {
    std::printf("SKIPPED: CudaContexts needs two GPUs; %d visible\n", devices.count);
    return 77;
  }
  auto mpi = hvd::MpiContext::create();
  if (!mpi.is_ok()) {
    std::printf("MPI: %s\n", mpi.status().message().c_str());
    return 1;
  }
  hvd::g_mpi = std::move(mpi).value();
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  hvd::g_mpi.reset();  // finalizes MPI
  return result;
}
