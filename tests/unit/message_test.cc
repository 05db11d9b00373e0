#include "horovod_cpp/message.h"

#include <gtest/gtest.h>

namespace hvd {
namespace {

RequestList sample_requests() {
  RequestList list;
  list.shutdown = true;
  list.shutdown_reason = "uncaught exception std::runtime_error: loss is NaN";
  Request a;
  a.rank = 3;
  a.dtype = DataType::BFloat16;
  a.reduce_op = ReduceOp::Max;
  a.name = "layer1.weight";
  a.shape = {4, 0, 7};
  a.prescale = 0.5;
  a.postscale = 3.0;
  a.root_rank = 2;
  Request b;
  b.rank = 3;
  b.name = "";
  Request c;
  c.op = OpType::Alltoall;
  c.name = "tokens";
  c.splits = {3, -1, 0};  // negative splits travel; the coordinator reports them
  Request d;
  d.op = OpType::Allreduce;
  d.name = "grads[2]";
  d.group = "grads";
  d.group_size = 5;
  d.group_index = 2;
  d.device = 1;
  d.on_device = true;
  list.requests = {a, b, c, d};
  return list;
}

ResponseList sample_responses() {
  ResponseList list;
  Response fused;
  fused.names = {"a", "b"};
  fused.element_counts = {10, 0};
  fused.dtype = DataType::Int64;
  fused.reduce_op = ReduceOp::Product;
  fused.device = 3;
  fused.on_device = true;
  Response gather;
  gather.type = ResponseType::Allgather;
  gather.names = {"g"};
  gather.element_counts = {6};
  gather.dim0_by_rank = {0, 2, 1};
  Response bcast;
  bcast.type = ResponseType::Broadcast;
  bcast.names = {"b"};
  bcast.element_counts = {1};
  bcast.root_rank = 1;
  Response error;
  error.type = ResponseType::Error;
  error.names = {"c"};
  error.error_message = "allreduce 'c': ranks disagree";
  Response join;
  join.type = ResponseType::Join;
  join.names = {kJoinName};
  join.element_counts = {1};
  join.root_rank = 2;
  list.responses = {fused, gather, bcast, error, join};
  list.shutdown_ranks = {1, 2};
  list.shutdown_reasons = {"hvd::shutdown() was called", ""};
  list.abort_reason = "horovod_cpp stopped: ops stalled";
  list.progress = true;
  return list;
}

TEST(MessageTest, RequestListRoundTrips) {
  const RequestList list = sample_requests();
  auto parsed = RequestList::parse(list.serialize());
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed.value().shutdown, true);
  EXPECT_EQ(parsed.value().shutdown_reason, list.shutdown_reason);
  EXPECT_EQ(parsed.value().requests, list.requests);
}

TEST(MessageTest, ResponseListRoundTrips) {
  const ResponseList list = sample_responses();
  auto parsed = ResponseList::parse(list.serialize());
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
  EXPECT_EQ(parsed.value().responses, list.responses);
  EXPECT_EQ(parsed.value().shutdown_ranks, list.shutdown_ranks);
  EXPECT_EQ(parsed.value().shutdown_reasons, list.shutdown_reasons);
  EXPECT_EQ(parsed.value().abort_reason, list.abort_reason);
  EXPECT_TRUE(parsed.value().progress);
  EXPECT_EQ(parsed.value().tuned_fusion_threshold_bytes, 0);
  EXPECT_TRUE(parsed.value().tuned_cache_enabled);
  EXPECT_FALSE(parsed.value().tuned_hierarchical_allreduce);
}

TEST(MessageTest, TuningParametersRoundTrip) {
  for (const bool cache : {false, true}) {
    for (const bool final : {false, true}) {
      const bool hierarchical = cache != final;  // every combination of each pair
      ResponseList list = sample_responses();
      list.tuned_fusion_threshold_bytes = 16 << 20;
      list.tuned_cycle_time_us = 2500;
      list.tuned_cache_enabled = cache;
      list.tuned_hierarchical_allreduce = hierarchical;
      list.tuning_final = final;
      list.cacheable = true;
      auto parsed = ResponseList::parse(list.serialize());
      ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
      EXPECT_EQ(parsed.value().tuned_fusion_threshold_bytes, 16 << 20);
      EXPECT_EQ(parsed.value().tuned_cycle_time_us, 2500);
      EXPECT_EQ(parsed.value().tuned_cache_enabled, cache) << "final " << final;
      EXPECT_EQ(parsed.value().tuning_final, final) << "cache " << cache;
      EXPECT_EQ(parsed.value().tuned_hierarchical_allreduce, hierarchical)
          << "cache " << cache << " final " << final;
      EXPECT_TRUE(parsed.value().cacheable);
      EXPECT_TRUE(parsed.value().progress);
    }
  }
}

TEST(MessageTest, EveryTruncationIsAnError) {
  const std::string requests = sample_requests().serialize();
  for (size_t n = 0; n < requests.size(); ++n) {
    EXPECT_FALSE(RequestList::parse(requests.substr(0, n)).is_ok()) << "prefix " << n;
  }
  const std::string responses = sample_responses().serialize();
  for (size_t n = 0; n < responses.size(); ++n) {
    EXPECT_FALSE(ResponseList::parse(responses.substr(0, n)).is_ok()) << "prefix " << n;
  }
}

TEST(MessageTest, TrailingBytesAreAnError) {
  auto parsed = RequestList::parse(sample_requests().serialize() + "x");
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("trailing"), std::string::npos);
}

TEST(MessageTest, OutOfRangeEnumIsAnError) {
  std::string bytes = sample_requests().serialize();
  // Layout: shutdown(1) count(4) then the first request: rank(4) op(1) dtype(1).
  bytes[1 + 4 + 4 + 1] = static_cast<char>(200);
  auto parsed = RequestList::parse(bytes);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("data type value 200"), std::string::npos)
      << parsed.status().message();
}

TEST(MessageTest, AHostTensorMarkedOnDeviceIsAnError) {
  RequestList list;
  Request r;
  r.on_device = true;  // device stays kCpuDevice
  list.requests = {r};
  auto parsed = RequestList::parse(list.serialize());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("on-device flag 1 for device -1"), std::string::npos)
      << parsed.status().message();
}

TEST(MessageTest, ForgedCountDoesNotAllocate) {
  std::string bytes(1, '\0');
  const std::uint32_t huge = 0xffffffffu;
  bytes.append(reinterpret_cast<const char*>(&huge), sizeof(huge));
  auto parsed = RequestList::parse(bytes);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("count"), std::string::npos);
}

TEST(MessageTest, GroupIndexOutsideTheGroupIsAnError) {
  RequestList list;
  Request r;
  r.group = "g";
  r.group_size = 2;
  r.group_index = 2;
  list.requests = {r};
  auto parsed = RequestList::parse(list.serialize());
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_NE(parsed.status().message().find("group member 2 of 2"), std::string::npos);
}

TEST(MessageTest, TotalBytesUsesElementSize) {
  Response r;
  r.dtype = DataType::Float16;
  r.element_counts = {3, 5};
  EXPECT_EQ(r.total_bytes(), 16);
}

}  // namespace
}  // namespace hvd
