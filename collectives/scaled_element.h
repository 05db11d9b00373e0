// One element of a device scaled copy (device_scaled_copy.cu), callable on the host too, so
// that CPU-only CI can check that the GPU rounds as scaled_copy (scaled_copy.h) does: integers
// truncated toward zero and clamped to the type's range, NaN to 0; 16-bit floats through float.
// Needs CUDA's headers (cuda_fp16.h), not a GPU.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <limits>
#include <type_traits>

namespace hvd {

// An integer type's range as doubles: [low, high], high being the largest double below
// max + 1 (casting 2^63 to int64 would be undefined). Unused for floating types.
struct IntegerRange {
  double low = 0;
  double high = 0;
};

template <class T>
IntegerRange integer_range_of() {
  IntegerRange range;
  if constexpr (std::is_integral_v<T>) {
    range.low = static_cast<double>(std::numeric_limits<T>::min());
    range.high = std::nextafter(static_cast<double>(std::numeric_limits<T>::max()) + 1.0, 0.0);
  }
  return range;
}

template <class T>
__host__ __device__ inline T scale_element(T x, double factor, IntegerRange range) {
  if constexpr (std::is_integral_v<T>) {
    double v = trunc(static_cast<double>(x) * factor);
    if (v != v)  // NaN (isnan differs between host and device headers)
      v = 0;
    return static_cast<T>(fmin(fmax(v, range.low), range.high));
  } else {
    return static_cast<T>(static_cast<double>(x) * factor);
  }
}

template <>
__host__ __device__ inline __half scale_element<__half>(__half x, double factor, IntegerRange) {
  return __float2half(__half2float(x) * static_cast<float>(factor));
}

template <>
__host__ __device__ inline __nv_bfloat16 scale_element<__nv_bfloat16>(__nv_bfloat16 x,
                                                                      double factor, IntegerRange) {
  return __float2bfloat16(__bfloat162float(x) * static_cast<float>(factor));
}

}  // namespace hvd
