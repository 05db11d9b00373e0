#include "collectives/scaled_copy.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "collectives/half.h"

namespace hvd {
namespace {

template <class T>
void scale_floating(const T* src, T* dst, std::int64_t count, double factor) {
  for (std::int64_t i = 0; i < count; ++i) {
    dst[i] = static_cast<T>(static_cast<double>(src[i]) * factor);
  }
}

template <class Codec>
void scale_half(const std::uint16_t* src, std::uint16_t* dst, std::int64_t count, double factor) {
  const float f = static_cast<float>(factor);
  for (std::int64_t i = 0; i < count; ++i)
    dst[i] = Codec::encode(Codec::decode(src[i]) * f);
}

template <class T>
void scale_integer(const T* src, T* dst, std::int64_t count, double factor) {
  constexpr double kLow = static_cast<double>(std::numeric_limits<T>::min());
  // The largest double below max+1; casting anything >= 2^63 to int64 would be undefined.
  const double high = std::nextafter(static_cast<double>(std::numeric_limits<T>::max()) + 1.0, 0.0);
  for (std::int64_t i = 0; i < count; ++i) {
    double v = std::trunc(static_cast<double>(src[i]) * factor);
    if (std::isnan(v))
      v = 0;
    if (v < kLow)
      v = kLow;
    if (v > high)
      v = high;
    dst[i] = static_cast<T>(v);
  }
}

template <class T>
void divide(T* buf, std::int64_t count, std::int64_t divisor) {
  for (std::int64_t i = 0; i < count; ++i) {
    buf[i] = static_cast<T>(static_cast<std::int64_t>(buf[i]) / divisor);
  }
}

}  // namespace

void scaled_copy(const void* src, void* dst, std::int64_t count, DataType dtype, double factor) {
  if (count == 0)
    return;
  if (factor == 1.0) {
    if (src != dst)
      std::memcpy(dst, src, count * element_size_bytes(dtype));
    return;
  }
  switch (dtype) {
    case DataType::UInt8:
      return scale_integer(static_cast<const std::uint8_t*>(src), static_cast<std::uint8_t*>(dst),
                           count, factor);
    case DataType::Int8:
      return scale_integer(static_cast<const std::int8_t*>(src), static_cast<std::int8_t*>(dst),
                           count, factor);
    case DataType::Int32:
      return scale_integer(static_cast<const std::int32_t*>(src), static_cast<std::int32_t*>(dst),
                           count, factor);
    case DataType::Int64:
      return scale_integer(static_cast<const std::int64_t*>(src), static_cast<std::int64_t*>(dst),
                           count, factor);
    case DataType::Float16:
      return scale_half<Float16Codec>(static_cast<const std::uint16_t*>(src),
                                      static_cast<std::uint16_t*>(dst), count, factor);
    case DataType::BFloat16:
      return scale_half<BFloat16Codec>(static_cast<const std::uint16_t*>(src),
                                       static_cast<std::uint16_t*>(dst), count, factor);
    case DataType::Float32:
      return scale_floating(static_cast<const float*>(src), static_cast<float*>(dst), count,
                            factor);
    case DataType::Float64:
      return scale_floating(static_cast<const double*>(src), static_cast<double*>(dst), count,
                            factor);
    case DataType::Bool:
      if (src != dst)
        std::memcpy(dst, src, count);
      return;
  }
}

void divide_integers(void* buf, std::int64_t count, DataType dtype, std::int64_t divisor) {
  switch (dtype) {
    case DataType::UInt8:
      return divide(static_cast<std::uint8_t*>(buf), count, divisor);
    case DataType::Int8:
      return divide(static_cast<std::int8_t*>(buf), count, divisor);
    case DataType::Int32:
      return divide(static_cast<std::int32_t*>(buf), count, divisor);
    case DataType::Int64:
      return divide(static_cast<std::int64_t*>(buf), count, divisor);
    default:
      return;
  }
}

}  // namespace hvd
