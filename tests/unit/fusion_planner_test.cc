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

Response allgather(const std::string& name, std::vector<std::int64_t> dim0_by_rank,
                   DataType dtype = DataType::Float32) {
  Response r;
  r.type = ResponseType::Allgather;
  r.names = {name};
  std::int64_t rows = 0;
  for (std::int64_t d : dim0_by_rank)
    rows += d;
  r.element_counts = {rows};
  r.dim0_by_rank = std::move(dim0_by_rank);
  r.dtype = dtype;
  return r;
}

TEST(FusionPlannerTest, AllgathersFuseWithTheirRowCountsConcatenated) {
  auto planned = plan_fusion({allgather("g1", {1, 2}), allreduce("r", 4), allgather("g2", {0, 3}),
                              allgather("g3", {5, 5}, DataType::Int8)},
                             1 << 20);
  EXPECT_EQ(groups(planned), (std::vector<std::vector<std::string>>{{"g1", "g2"}, {"r"}, {"g3"}}));
  EXPECT_EQ(planned[0].type, ResponseType::Allgather);
  EXPECT_EQ(planned[0].dim0_by_rank, (std::vector<std::int64_t>{1, 2, 0, 3}));
  EXPECT_EQ(planned[0].element_counts, (std::vector<std::int64_t>{3, 3}));
}

TEST(FusionPlannerTest, AllgatherThresholdCountsGatheredBytes) {
  // 3 gathered float rows = 12 bytes each; a 20-byte threshold holds one.
  auto planned = plan_fusion({allgather("a", {1, 2}), allgather("b", {2, 1})}, 20);
  EXPECT_EQ(groups(planned), (std::vector<std::vector<std::string>>{{"a"}, {"b"}}));
}

TEST(FusionPlannerTest, LargeAllreducesRunAlone) {
  const std::int64_t big = kMinUnfusedAllreduceBytes / 4;  // float32 elements
  auto planned = plan_fusion(
      {allreduce("s1", 10), allreduce("big", big), allreduce("s2", 10), allreduce("big2", big)},
      64 << 20);
  EXPECT_EQ(groups(planned),
            (std::vector<std::vector<std::string>>{{"s1", "s2"}, {"big"}, {"big2"}}));
}

TEST(FusionPlannerTest, OnTheDeviceAllgathersAreNotFused) {
  std::vector<Response> responses = {allgather("g1", {1, 2}), allgather("g2", {2, 1})};
  for (Response& r : responses) {
    r.device = 0;
    r.on_device = true;
  }
  EXPECT_EQ(groups(plan_fusion(responses, 64 << 20)),
            (std::vector<std::vector<std::string>>{{"g1"}, {"g2"}}));
}

TEST(FusionPlannerTest, OnTheDeviceLargeAllreducesFuseAndPlanesDoNotMix) {
  const std::int64_t big = kMinUnfusedAllreduceBytes / 4;
  std::vector<Response> responses = {allreduce("d1", big), allreduce("host", 10),
                                     allreduce("d2", big), allreduce("staged", 10)};
  for (Response* r : {&responses[0], &responses[2], &responses[3]})
    r->device = 0;
  responses[0].on_device = true;
  responses[2].on_device = true;
  auto planned = plan_fusion(responses, 64 << 20);
  EXPECT_EQ(groups(planned),
            (std::vector<std::vector<std::string>>{{"d1", "d2"}, {"host"}, {"staged"}}));
  EXPECT_TRUE(planned[0].on_device);
}

}  // namespace
}  // namespace hvd
