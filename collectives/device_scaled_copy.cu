#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "collectives/device_scaled_copy.h"
#include "collectives/scaled_element.h"

namespace hvd {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 4096;  // a grid-stride loop covers the rest

template <class T>
__global__ void scaled_copy_kernel(const T* src, T* dst, std::int64_t count, double factor,
                                   IntegerRange range) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    dst[i] = scale_element(src[i], factor, range);
  }
}

// A kernel argument (by value: no device memory to manage, and it fits CUDA's 4 KiB limit on
// kernel parameters with room to spare).
struct CopyBatch {
  const void* src[kScaledCopyBatch];
  void* dst[kScaledCopyBatch];
  std::int64_t count[kScaledCopyBatch];
};
static_assert(sizeof(CopyBatch) + 2 * sizeof(double) + sizeof(IntegerRange) < 4096);

// Copy blockIdx.y of the batch, grid-stride over blockIdx.x. kScaled false: a plain copy of
// T-sized elements (T then only says how wide they are).
template <class T, bool kScaled>
__global__ void batched_scaled_copy_kernel(CopyBatch batch, double factor, IntegerRange range) {
  const T* src = static_cast<const T*>(batch.src[blockIdx.y]);
  T* dst = static_cast<T*>(batch.dst[blockIdx.y]);
  const std::int64_t count = batch.count[blockIdx.y];
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    if constexpr (kScaled)
      dst[i] = scale_element(src[i], factor, range);
    else
      dst[i] = src[i];
  }
}

template <class T, bool kScaled>
cudaError_t launch_batch(const CopyBatch& batch, int n, std::int64_t max_count, double factor,
                         cudaStream_t stream) {
  const std::int64_t per_copy = std::max<std::int64_t>(1, kMaxBlocks / n);
  const std::int64_t blocks = std::max<std::int64_t>(
      1, std::min<std::int64_t>((max_count + kThreads - 1) / kThreads, per_copy));
  (void)cudaGetLastError();  // an earlier failure on this thread is not this launch's
  batched_scaled_copy_kernel<T, kScaled>
      <<<dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(n)), kThreads, 0, stream>>>(
          batch, factor, integer_range_of<T>());
  return cudaGetLastError();
}

// A plain copy moves bytes: by element width, whatever the type.
cudaError_t launch_plain_batch(const CopyBatch& batch, int n, std::int64_t max_count,
                               std::size_t element_bytes, cudaStream_t stream) {
  switch (element_bytes) {
    case 1:
      return launch_batch<std::uint8_t, false>(batch, n, max_count, 1.0, stream);
    case 2:
      return launch_batch<std::uint16_t, false>(batch, n, max_count, 1.0, stream);
    case 4:
      return launch_batch<std::uint32_t, false>(batch, n, max_count, 1.0, stream);
    case 8:
      return launch_batch<std::uint64_t, false>(batch, n, max_count, 1.0, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t launch_scaled_batch(const CopyBatch& batch, int n, std::int64_t max_count,
                                DataType dtype, double factor, cudaStream_t stream) {
  switch (dtype) {
    case DataType::UInt8:
      return launch_batch<std::uint8_t, true>(batch, n, max_count, factor, stream);
    case DataType::Int8:
      return launch_batch<std::int8_t, true>(batch, n, max_count, factor, stream);
    case DataType::Int32:
      return launch_batch<std::int32_t, true>(batch, n, max_count, factor, stream);
    case DataType::Int64:
      return launch_batch<std::int64_t, true>(batch, n, max_count, factor, stream);
    case DataType::Float16:
      return launch_batch<__half, true>(batch, n, max_count, factor, stream);
    case DataType::BFloat16:
      return launch_batch<__nv_bfloat16, true>(batch, n, max_count, factor, stream);
    case DataType::Float32:
      return launch_batch<float, true>(batch, n, max_count, factor, stream);
    case DataType::Float64:
      return launch_batch<double, true>(batch, n, max_count, factor, stream);
    case DataType::Bool:
      break;
  }
  return cudaErrorInvalidValue;  // bool is never scaled
}

template <class T>
cudaError_t launch(const void* src, void* dst, std::int64_t count, double factor,
                   cudaStream_t stream) {
  const IntegerRange range = integer_range_of<T>();
  const std::int64_t blocks = std::min<std::int64_t>((count + kThreads - 1) / kThreads, kMaxBlocks);
  (void)cudaGetLastError();  // as in launch_batch
  scaled_copy_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      static_cast<const T*>(src), static_cast<T*>(dst), count, factor, range);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_scaled_copies(const ScaledCopyRange* copies, std::int64_t n, DataType dtype,
                                 double factor, cudaStream_t stream) {
  const std::size_t element_bytes = element_size_bytes(dtype);
  CopyBatch batch{};
  int batched = 0;
  std::int64_t max_count = 0;
  auto flush = [&]() -> cudaError_t {
    if (batched == 0)
      return cudaSuccess;
    const cudaError_t rc =
        factor == 1.0 ? launch_plain_batch(batch, batched, max_count, element_bytes, stream)
                      : launch_scaled_batch(batch, batched, max_count, dtype, factor, stream);
    batched = 0;
    max_count = 0;
    return rc;
  };
  for (std::int64_t i = 0; i < n; ++i) {
    const ScaledCopyRange& copy = copies[i];
    const bool nothing_to_do = copy.count == 0 || (factor == 1.0 && copy.src == copy.dst);
    if (nothing_to_do)
      continue;
    if (copy.count * static_cast<std::int64_t>(element_bytes) >= kLargeScaledCopyBytes) {
      const cudaError_t rc =
          launch_scaled_copy(copy.src, copy.dst, copy.count, dtype, factor, stream);
      if (rc != cudaSuccess)
        return rc;
      continue;
    }
    batch.src[batched] = copy.src;
    batch.dst[batched] = copy.dst;
    batch.count[batched] = copy.count;
    max_count = std::max(max_count, copy.count);
    if (++batched == kScaledCopyBatch) {
      const cudaError_t rc = flush();
      if (rc != cudaSuccess)
        return rc;
    }
  }
  return flush();
}

cudaError_t launch_scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                               double factor, cudaStream_t stream) {
  if (count == 0)
    return cudaSuccess;
  if (factor == 1.0) {
    if (src == dst)
      return cudaSuccess;
    return cudaMemcpyAsync(dst, src, static_cast<size_t>(count) * element_size_bytes(dtype),
                           cudaMemcpyDeviceToDevice, stream);
  }
  switch (dtype) {
    case DataType::UInt8:
      return launch<std::uint8_t>(src, dst, count, factor, stream);
    case DataType::Int8:
      return launch<std::int8_t>(src, dst, count, factor, stream);
    case DataType::Int32:
      return launch<std::int32_t>(src, dst, count, factor, stream);
    case DataType::Int64:
      return launch<std::int64_t>(src, dst, count, factor, stream);
    case DataType::Float16:
      return launch<__half>(src, dst, count, factor, stream);
    case DataType::BFloat16:
      return launch<__nv_bfloat16>(src, dst, count, factor, stream);
    case DataType::Float32:
      return launch<float>(src, dst, count, factor, stream);
    case DataType::Float64:
      return launch<double>(src, dst, count, factor, stream);
    case DataType::Bool:
      break;
  }
  return cudaErrorInvalidValue;  // bool is never scaled
}

}  // namespace hvd
