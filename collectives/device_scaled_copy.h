// scaled_copy (scaled_copy.h) on a CUDA device: dst[i] = src[i] * factor for `count` elements,
// queued on `stream`, rounding as the host does (integers truncated toward zero and clamped
// to the type's range, NaN to 0; 16-bit floats in float), but for the bits of a scaled 16-bit
// NaN: CUDA's conversions give the canonical NaN where the host keeps sign and payload. src may
// equal dst. Bool is never scaled (cudaErrorInvalidValue for a factor other than 1; nothing
// scales bool tensors: they cannot be reduced).
// Only compiled with HOROVOD_CPP_WITH_CUDA.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "horovod_cpp/data_type.h"

namespace hvd {

cudaError_t launch_scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                               double factor, cudaStream_t stream);

// launch_scaled_copy for each of `copies` (all `dtype`, one factor), but with one kernel for
// up to kScaledCopyBatch small ones: packing many small tensors into the fusion buffer costs
// one launch instead of one each. Copies of kLargeScaledCopyBytes or more get their own launch
// (or cudaMemcpyAsync), with the whole grid. A copy's src may equal its dst; copies must not
// otherwise overlap.
struct ScaledCopyRange {
  const void* src = nullptr;
  void* dst = nullptr;
  std::int64_t count = 0;
};
constexpr int kScaledCopyBatch = 64;
constexpr std::int64_t kLargeScaledCopyBytes = 1 << 20;
cudaError_t launch_scaled_copies(const ScaledCopyRange* copies, std::int64_t n, DataType dtype,
                                 double factor, cudaStream_t stream);

}  // namespace hvd
