#include "collectives/half.h"

#include <cmath>

#include <gtest/gtest.h>

namespace hvd {
namespace {

TEST(HalfTest, EveryFloat16RoundTripsThroughFloat) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float f = float16_to_float(h);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(float16_to_float(float_to_float16(f)))) << bits;
    } else {
      EXPECT_EQ(float_to_float16(f), h) << bits;
    }
  }
}

TEST(HalfTest, Float16KnownValues) {
  EXPECT_EQ(float_to_float16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_float16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_float16(65504.0f), 0x7bff);                // largest finite
  EXPECT_EQ(float_to_float16(65520.0f), 0x7c00);                // rounds up to infinity
  EXPECT_EQ(float_to_float16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_float16(2.98e-08f), 0x0000);               // below half of it: zero
  EXPECT_FLOAT_EQ(float16_to_float(0x3555), 0.333251953125f);
}

TEST(HalfTest, Float16RoundsHalfwayToEven) {
  // 2049 lies halfway between 2048 and 2050 (spacing 2): ties go to the even mantissa.
  EXPECT_EQ(float16_to_float(float_to_float16(2049.0f)), 2048.0f);
  EXPECT_EQ(float16_to_float(float_to_float16(2051.0f)), 2052.0f);
}

TEST(HalfTest, EveryBFloat16RoundTripsThroughFloat) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto b = static_cast<std::uint16_t>(bits);
    const float f = bfloat16_to_float(b);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(f)))) << bits;
    } else {
      EXPECT_EQ(float_to_bfloat16(f), b) << bits;
    }
  }
}

TEST(HalfTest, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(257.0f)), 256.0f);  // tie, even stays
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(259.0f)), 260.0f);  // tie, odd rounds up
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(258.9f)), 258.0f);
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(259.5f)), 260.0f);
}

}  // namespace
}  // namespace hvd
