#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "collectives/device_scaled_copy.h"

namespace hvd {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 4096;  // a grid-stride loop covers the rest

// An integer type's range as doubles: [low, high], high being the largest double below
// max + 1 (casting 2^63 to int64 would be undefined).
struct Range {
  double low = 0;
  double high = 0;
};

template <class T>
__device__ T scale_one(T x, double factor, Range range) {
  if constexpr (std::is_integral_v<T>) {
    double v = trunc(static_cast<double>(x) * factor);
    if (isnan(v))
      v = 0;
    return static_cast<T>(fmin(fmax(v, range.low), range.high));
  } else {
    return static_cast<T>(static_cast<double>(x) * factor);
  }
}

template <>
__device__ __half scale_one<__half>(__half x, double factor, Range) {
  return __float2half(__half2float(x) * static_cast<float>(factor));
}

template <>
__device__ __nv_bfloat16 scale_one<__nv_bfloat16>(__nv_bfloat16 x, double factor, Range) {
  return __float2bfloat16(__bfloat162float(x) * static_cast<float>(factor));
}

template <class T>
__global__ void scaled_copy_kernel(const T* src, T* dst, std::int64_t count, double factor,
                                   Range range) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    dst[i] = scale_one(src[i], factor, range);
  }
}

template <class T>
cudaError_t launch(const void* src, void* dst, std::int64_t count, double factor,
                   cudaStream_t stream) {
  Range range;
  if constexpr (std::is_integral_v<T>) {
    range.low = static_cast<double>(std::numeric_limits<T>::min());
    range.high = std::nextafter(static_cast<double>(std::numeric_limits<T>::max()) + 1.0, 0.0);
  }
  const std::int64_t blocks = std::min<std::int64_t>((count + kThreads - 1) / kThreads, kMaxBlocks);
  scaled_copy_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
      static_cast<const T*>(src), static_cast<T*>(dst), count, factor, range);
  return cudaGetLastError();
}

}  // namespace

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
