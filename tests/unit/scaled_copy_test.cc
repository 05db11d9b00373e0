#include "collectives/scaled_copy.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "collectives/half.h"

namespace hvd {
namespace {

TEST(ScaledCopyTest, FloatScalesIntoSeparateBuffer) {
  std::vector<float> src = {1, -2, 3.5f};
  std::vector<float> dst(3);
  scaled_copy(src.data(), dst.data(), 3, DataType::Float32, 0.5);
  EXPECT_EQ(dst, (std::vector<float>{0.5f, -1, 1.75f}));
  EXPECT_EQ(src, (std::vector<float>{1, -2, 3.5f}));
}

TEST(ScaledCopyTest, DoubleScalesInPlace) {
  std::vector<double> buf = {2, 4};
  scaled_copy(buf.data(), buf.data(), 2, DataType::Float64, 0.25);
  EXPECT_EQ(buf, (std::vector<double>{0.5, 1}));
}

TEST(ScaledCopyTest, HalfTypesScaleThroughFloat) {
  std::vector<std::uint16_t> h = {float_to_float16(3), float_to_float16(-6)};
  scaled_copy(h.data(), h.data(), 2, DataType::Float16, 1.0 / 3);
  EXPECT_EQ(float16_to_float(h[0]), float16_to_float(float_to_float16(1.0f)));
  EXPECT_EQ(float16_to_float(h[1]), -2.0f);
  std::vector<std::uint16_t> b = {float_to_bfloat16(8)};
  scaled_copy(b.data(), b.data(), 1, DataType::BFloat16, 0.125);
  EXPECT_EQ(bfloat16_to_float(b[0]), 1.0f);
}

TEST(ScaledCopyTest, IntegersTruncateTowardZeroAndSaturate) {
  std::vector<std::int32_t> v = {7, -7, std::numeric_limits<std::int32_t>::max()};
  scaled_copy(v.data(), v.data(), 3, DataType::Int32, 0.5);
  EXPECT_EQ(v[0], 3);
  EXPECT_EQ(v[1], -3);
  std::vector<std::int8_t> s = {100, -100};
  scaled_copy(s.data(), s.data(), 2, DataType::Int8, 3.0);
  EXPECT_EQ(s[0], 127);
  EXPECT_EQ(s[1], -128);
  std::vector<std::int64_t> big = {std::numeric_limits<std::int64_t>::max()};
  scaled_copy(big.data(), big.data(), 1, DataType::Int64, 2.0);
  EXPECT_GT(big[0], 0);
}

TEST(ScaledCopyTest, FactorOneIsAPlainCopyAndZeroCountIsANoOp) {
  std::vector<std::uint8_t> src = {1, 2, 255};
  std::vector<std::uint8_t> dst(3);
  scaled_copy(src.data(), dst.data(), 3, DataType::UInt8, 1.0);
  EXPECT_EQ(dst, src);
  scaled_copy(nullptr, nullptr, 0, DataType::Float32, 2.0);
}

TEST(ScaledCopyTest, IntegerDivisionTruncatesTowardZero) {
  std::vector<std::int64_t> v = {7, -7, 8, -1};
  divide_integers(v.data(), 4, DataType::Int64, 2);
  EXPECT_EQ(v, (std::vector<std::int64_t>{3, -3, 4, 0}));
  std::vector<std::uint8_t> u = {255, 3};
  divide_integers(u.data(), 2, DataType::UInt8, 4);
  EXPECT_EQ(u, (std::vector<std::uint8_t>{63, 0}));
}

}  // namespace
}  // namespace hvd
