#include "horovod_cpp/response_cache.h"

#include <gtest/gtest.h>

namespace hvd {
namespace {

Request request(const std::string& name, std::vector<std::int64_t> shape = {3}) {
  Request r;
  r.name = name;
  r.shape = std::move(shape);
  r.reduce_op = ReduceOp::Average;
  return r;
}

TEST(ResponseCacheTest, HitMissAndChanged) {
  ResponseCache cache(4);
  int bit = -1;
  EXPECT_EQ(cache.lookup(request("a"), &bit), ResponseCache::Lookup::Miss);
  std::optional<int> evicted;
  const int a = cache.insert(request("a"), &evicted);
  EXPECT_FALSE(evicted);
  Request from_rank_3 = request("a");
  from_rank_3.rank = 3;  // the sender is not a parameter
  EXPECT_EQ(cache.lookup(from_rank_3, &bit), ResponseCache::Lookup::Hit);
  EXPECT_EQ(bit, a);
  EXPECT_EQ(cache.lookup(request("a", {4}), &bit), ResponseCache::Lookup::Changed);
  Request scaled = request("a");
  scaled.prescale = 2.0;
  EXPECT_EQ(cache.lookup(scaled, &bit), ResponseCache::Lookup::Changed);
  Response response = cache.response_for(a);
  EXPECT_EQ(response.names, (std::vector<std::string>{"a"}));
  EXPECT_EQ(response.element_counts, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(response.reduce_op, ReduceOp::Average);
}

TEST(ResponseCacheTest, EvictsLeastRecentlyUsed) {
  ResponseCache cache(2);
  std::optional<int> evicted;
  const int a = cache.insert(request("a"), &evicted);
  const int b = cache.insert(request("b"), &evicted);
  cache.touch(a);  // b is now the oldest
  const int c = cache.insert(request("c"), &evicted);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(*evicted, b);
  EXPECT_EQ(c, b);  // the freed bit is reused
  int bit = -1;
  EXPECT_EQ(cache.lookup(request("b"), &bit), ResponseCache::Lookup::Miss);
  EXPECT_EQ(cache.lookup(request("a"), &bit), ResponseCache::Lookup::Hit);
  EXPECT_EQ(cache.size(), 2);
}

TEST(ResponseCacheTest, CapacityOneAndErase) {
  ResponseCache cache(1);
  std::optional<int> evicted;
  EXPECT_EQ(cache.insert(request("a"), &evicted), 0);
  EXPECT_EQ(cache.insert(request("b"), &evicted), 0);
  EXPECT_EQ(evicted, std::optional<int>(0));
  cache.erase(0);
  cache.erase(0);  // erasing a free bit changes nothing
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(cache.insert(request("c"), &evicted), 0);
  EXPECT_FALSE(evicted);
}

TEST(ResponseCacheTest, OnlyPlainAllreducesAreCacheable) {
  Request r = request("a");
  EXPECT_TRUE(ResponseCache::cacheable(r));
  r.group = "g";
  r.group_size = 2;
  EXPECT_FALSE(ResponseCache::cacheable(r));
  r = request("a");
  r.op = OpType::Allgather;
  EXPECT_FALSE(ResponseCache::cacheable(r));
}

}  // namespace
}  // namespace hvd
