// The GPU's scaled copies against the host's, on the host: scale_element is what each CUDA
// thread computes (device_scaled_copy.cu), and scaled_copy is what the CPU paths (and the
// host-staged GPU path) compute. Both must give the same bits, so that a tensor's result does
// not depend on which data plane reduced it. Runs without a GPU.
#include "collectives/scaled_element.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "collectives/half.h"
#include "collectives/scaled_copy.h"

namespace hvd {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Averages (1/n), prescales, sign flips, overflow and underflow, and the non-finite.
const std::vector<double> kFactors = {0.5,   1.0 / 3, 0.125, -1,    -0.5, 2,    3,    1e-3,
                                      1e-40, 1e30,    -1e30, 1e300, 0,    kNaN, kInf, -kInf};

template <class T>
std::vector<T> host_scaled(const std::vector<T>& values, DataType dtype, double factor) {
  std::vector<T> out(values.size());
  scaled_copy(values.data(), out.data(), static_cast<std::int64_t>(values.size()), dtype, factor);
  return out;
}

template <class T>
std::string bits_of(T value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(bits));
  return text;
}

template <class T>
void expect_integers_match(DataType dtype) {
  using Limits = std::numeric_limits<T>;
  std::vector<T> values = {Limits::min(), static_cast<T>(Limits::min() + 1), 0, 1, 2, 3, 7, 100,
                           Limits::max(), static_cast<T>(Limits::max() - 1)};
  if constexpr (std::is_signed_v<T>) {
    for (T v : {-1, -2, -3, -7, -100})
      values.push_back(v);
  }
  const IntegerRange range = integer_range_of<T>();
  for (double factor : kFactors) {
    const std::vector<T> expected = host_scaled(values, dtype, factor);
    for (std::size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(scale_element(values[i], factor, range), expected[i])
          << "dtype " << data_type_name(dtype) << ": " << +values[i] << " * " << factor;
    }
  }
}

TEST(ScaledElementTest, IntegersTruncateClampAndZeroNaNAsTheHostDoes) {
  expect_integers_match<std::uint8_t>(DataType::UInt8);
  expect_integers_match<std::int8_t>(DataType::Int8);
  expect_integers_match<std::int32_t>(DataType::Int32);
  expect_integers_match<std::int64_t>(DataType::Int64);
}

TEST(ScaledElementTest, IntegerRangesEndBelowMaxPlusOne) {
  // int64's max is not a double: the clamp must stay below 2^63 to be castable.
  EXPECT_LT(integer_range_of<std::int64_t>().high, 9223372036854775808.0);
  EXPECT_EQ(integer_range_of<std::int64_t>().low, -9223372036854775808.0);
  EXPECT_EQ(scale_element<std::int64_t>(1, kInf, integer_range_of<std::int64_t>()),
            std::int64_t{9223372036854774784});  // the largest double below 2^63
  EXPECT_EQ(integer_range_of<std::uint8_t>().low, 0.0);
  EXPECT_EQ(scale_element<std::uint8_t>(200, 2, integer_range_of<std::uint8_t>()), 255);
}

template <class T>
void expect_floats_match(DataType dtype) {
  using Limits = std::numeric_limits<T>;
  const std::vector<T> values = {0,
                                 -T(0),
                                 1,
                                 -1,
                                 T(0.1),
                                 T(1) / 3,
                                 Limits::max(),
                                 Limits::lowest(),
                                 Limits::min(),
                                 Limits::denorm_min(),
                                 Limits::epsilon(),
                                 Limits::infinity(),
                                 -Limits::infinity(),
                                 Limits::quiet_NaN()};
  for (double factor : kFactors) {
    const std::vector<T> expected = host_scaled(values, dtype, factor);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const T got = scale_element(values[i], factor, IntegerRange{});
      if (std::isnan(expected[i])) {
        EXPECT_TRUE(std::isnan(got)) << values[i] << " * " << factor;
      } else {
        EXPECT_EQ(bits_of(got), bits_of(expected[i])) << values[i] << " * " << factor;
      }
    }
  }
}

TEST(ScaledElementTest, FloatsScaleInDoubleAsTheHostDoes) {
  expect_floats_match<float>(DataType::Float32);
  expect_floats_match<double>(DataType::Float64);
}

// CUDA's 16-bit types from and to their bits (memcpy into them is not allowed).
template <class Device>
Device from_bits(std::uint16_t bits) {
  if constexpr (std::is_same_v<Device, __half>) {
    __half_raw raw;
    raw.x = bits;
    return Device(raw);
  } else {
    __nv_bfloat16_raw raw;
    raw.x = bits;
    return Device(raw);
  }
}

template <class Device>
std::uint16_t to_bits(Device value) {
  if constexpr (std::is_same_v<Device, __half>)
    return static_cast<__half_raw>(value).x;
  else
    return static_cast<__nv_bfloat16_raw>(value).x;
}

// Every 16-bit pattern through every factor: NaNs compare as NaNs (CUDA makes them canonical,
// the host keeps sign and payload), all else bit for bit.
template <class Device, class Decode>
void expect_sixteen_bit_floats_match(DataType dtype, Decode decode) {
  std::vector<std::uint16_t> values(1 << 16);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<std::uint16_t>(i);
  for (double factor : kFactors) {
    const std::vector<std::uint16_t> expected = host_scaled(values, dtype, factor);
    int mismatches = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint16_t got =
          to_bits(scale_element(from_bits<Device>(values[i]), factor, IntegerRange{}));
      const bool both_nan = std::isnan(decode(got)) && std::isnan(decode(expected[i]));
      if (!both_nan && got != expected[i] && ++mismatches <= 5) {
        ADD_FAILURE() << data_type_name(dtype) << " " << bits_of(values[i]) << " * " << factor
                      << ": device " << bits_of(got) << ", host " << bits_of(expected[i]);
      }
    }
    EXPECT_EQ(mismatches, 0) << data_type_name(dtype) << " * " << factor;
  }
}

TEST(ScaledElementTest, HalfAndBFloat16ScaleThroughFloatAsTheHostDoes) {
  expect_sixteen_bit_floats_match<__half>(DataType::Float16, float16_to_float);
  expect_sixteen_bit_floats_match<__nv_bfloat16>(DataType::BFloat16, bfloat16_to_float);
}

// CUDA's own conversions and the host codec (half.h), which the CPU reductions and the
// compression casts use: one float in every 251 (a prime stride reaches every rounding case
// of the low mantissa bits), and every 16-bit value back.
TEST(ScaledElementTest, CudaConversionsMatchTheHostCodec) {
  std::uint64_t checked = 0;
  int mismatches = 0;
  for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 251) {
    const auto pattern = static_cast<std::uint32_t>(bits);
    float f;
    std::memcpy(&f, &pattern, sizeof(f));
    if (std::isnan(f))
      continue;
    const std::uint16_t h_bits = to_bits(__float2half(f));
    const std::uint16_t b_bits = to_bits(__float2bfloat16(f));
    if (h_bits != float_to_float16(f) && ++mismatches <= 5)
      ADD_FAILURE() << "float16 of " << bits_of(f);
    if (b_bits != float_to_bfloat16(f) && ++mismatches <= 5)
      ADD_FAILURE() << "bfloat16 of " << bits_of(f);
    ++checked;
  }
  EXPECT_GT(checked, 16'000'000u);
  for (std::uint32_t v = 0; v <= 0xffffu; ++v) {
    const auto pattern = static_cast<std::uint16_t>(v);
    const float device = __half2float(from_bits<__half>(pattern));
    const float host = float16_to_float(pattern);
    if (!(std::isnan(device) && std::isnan(host)) && bits_of(device) != bits_of(host) &&
        ++mismatches <= 5) {
      ADD_FAILURE() << "float of float16 " << bits_of(pattern);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace hvd
