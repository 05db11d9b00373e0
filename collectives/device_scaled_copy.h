// scaled_copy (scaled_copy.h) on a CUDA device: dst[i] = src[i] * factor for `count` elements,
// queued on `stream`, rounding as the host does (integers truncated toward zero and clamped
// to the type's range, NaN to 0; 16-bit floats in float). src may equal dst.
// Only compiled with HOROVOD_CPP_WITH_CUDA.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "horovod_cpp/data_type.h"

namespace hvd {

cudaError_t launch_scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype,
                               double factor, cudaStream_t stream);

}  // namespace hvd
