#include "horovod_cpp/fusion_planner.h"

#include <gtest/gtest.h>

namespace hvd {
namespace {

Response allreduce(const std::string& name, std::int64_t elements,
                   DataType dtype = DataType::Float32) {
  Response r;
  r.names = {name};
  r.element_counts = {elements};
  r.dtype = dtype;
  return r;
}

std::vector<std::vector<std::string>> groups(const std::vector<Response>& planned) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : planned)
    out.push_back(r.names);
  return out;
}

TEST(FusionPlannerTest, PacksUpToTheThreshold) {
  // 4-byte floats: 10 elements = 40 bytes each; threshold 100 bytes holds two.
  auto planned = plan_fusion({allreduce("a", 10), allreduce("b", 10), allreduce("c", 10)}, 100);
  EXPECT_EQ(groups(planned), (std::vector<std::vector<std::string>>{{"a", "b"}, {"c"}}));
  EXPECT_EQ(planned[0].element_counts, (std::vector<std::int64_t>{10, 10}));
}

TEST(FusionPlannerTest, ThresholdZeroDisablesFusion) {
  auto planned = plan_fusion({allreduce("a", 1), allreduce("b", 1)}, 0);
  EXPECT_EQ(planned.size(), 2u);
}

TEST(FusionPlannerTest, TensorLargerThanThresholdTravelsAlone) {
  auto planned = plan_fusion({allreduce("big", 1000), allreduce("s", 1), allreduce("t", 1)}, 64);
  EXPECT_EQ(groups(planned), (std::vector<std::vector<std::string>>{{"big"}, {"s", "t"}}));
}

TEST(FusionPlannerTest, OnlyCompatibleResponsesFuseButLaterOnesAreFoundPastOthers) {
  Response scaled = allreduce("scaled", 1);
  scaled.prescale = 2.0;
  Response maxed = allreduce("max", 1);
  maxed.reduce_op = ReduceOp::Max;
  auto planned = plan_fusion(
      {allreduce("f1", 1), allreduce("i", 1, DataType::Int32), scaled, maxed, allreduce("f2", 1)},
      1 << 20);
  EXPECT_EQ(groups(planned),
            (std::vector<std::vector<std::string>>{{"f1", "f2"}, {"i"}, {"scaled"}, {"max"}}));
}

TEST(FusionPlannerTest, ErrorsPassThroughUnfused) {
  Response error;
  error.type = ResponseType::Error;
  error.names = {"bad"};
  auto planned = plan_fusion({allreduce("a", 1), error, allreduce("b", 1)}, 1 << 20);
  EXPECT_EQ(groups(planned), (std::vector<std::vector<std::string>>{{"a", "b"}, {"bad"}}));
  EXPECT_EQ(planned[1].type, ResponseType::Error);
}

}  // namespace
}  // namespace hvd
