// Element-wise CPU kernels around a reduction: pre/post scaling into and out of buffers,
// and the integer division that finishes an integer Average.
#pragma once

#include <cstdint>

#include "horovod_cpp/data_type.h"

namespace hvd {

// dst[i] = src[i] * factor (src may equal dst). Floating types compute in double (float for
// the 16-bit types) and round once; integers multiply in double, truncate toward zero and
// saturate at the type's limits (exact for |values| below 2^53). factor == 1 is a plain copy.
void scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype, double factor);

// buf[i] /= divisor with C++ integer division (truncates toward zero). Integer types only.
void divide_integers(void* buf, std::int64_t count, DataType dtype, std::int64_t divisor);

}  // namespace hvd
