#include "horovod_cpp/controller.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "fake_control_network.h"

namespace hvd {
namespace {

Request request(int rank, const std::string& name, std::vector<std::int64_t> shape = {5}) {
  Request r;
  r.rank = rank;
  r.name = name;
  r.shape = std::move(shape);
  return r;
}

// Runs `rounds` negotiation rounds on `size` rank-threads; submissions[rank][round] is what
// that rank sends in that round. Returns every rank's response lists.
std::vector<std::vector<ResponseList>> negotiate(
    int size, const std::vector<std::vector<RequestList>>& submissions, std::int64_t threshold) {
  FakeControlNetwork network(size);
  std::vector<std::vector<ResponseList>> results(size);
  run_ranks(size, [&](int rank) {
    FakeControlChannel channel(&network, rank);
    Controller controller(&channel, threshold);
    for (const RequestList& mine : submissions[rank]) {
      auto out = controller.negotiate(mine);
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      results[rank].push_back(out.value());
    }
  });
  return results;
}

RequestList list_of(std::vector<Request> requests) {
  RequestList l;
  l.requests = std::move(requests);
  return l;
}

TEST(ControllerTest, EveryRankGetsTheSameFusedListDespiteDifferentOrders) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "a"), request(0, "b"), request(0, "c")})};
  submissions[1] = {list_of({request(1, "c"), request(1, "b"), request(1, "a")})};
  submissions[2] = {list_of({request(2, "b"), request(2, "c"), request(2, "a")})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    ASSERT_EQ(results[r][0].responses.size(), 1u) << "rank " << r;
    EXPECT_EQ(results[r][0].responses, results[0][0].responses) << "rank " << r;
    EXPECT_EQ(results[r][0].responses[0].names.size(), 3u);
  }
}

TEST(ControllerTest, LateRankCompletesATensorInALaterRound) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "x")}), RequestList{}};
  submissions[1] = {RequestList{}, list_of({request(1, "x")})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    EXPECT_TRUE(results[r][0].responses.empty());
    ASSERT_EQ(results[r][1].responses.size(), 1u);
    EXPECT_EQ(results[r][1].responses[0].names, (std::vector<std::string>{"x"}));
  }
}

TEST(ControllerTest, MismatchIsTheSameErrorOnEveryRank) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "w", {2, 2})})};
  submissions[1] = {list_of({request(1, "w", {2, 3})})};
  auto results = negotiate(size, submissions, 1 << 20);
  for (int r = 0; r < size; ++r) {
    ASSERT_EQ(results[r][0].responses.size(), 1u);
    EXPECT_EQ(results[r][0].responses[0].type, ResponseType::Error);
    EXPECT_EQ(results[r][0].responses[0].error_message,
              "allreduce 'w': ranks disagree on shape: rank 0 has [2, 2]; rank 1 has [2, 3]");
  }
}

TEST(ControllerTest, ShutdownOfOneRankReachesAll) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size, {RequestList{}});
  submissions[2][0].shutdown = true;
  submissions[2][0].shutdown_reason = "out of patience";
  auto results = negotiate(size, submissions, 0);
  for (int r = 0; r < size; ++r) {
    EXPECT_EQ(results[r][0].shutdown_ranks, (std::vector<std::int32_t>{2}));
    EXPECT_EQ(results[r][0].shutdown_reasons, (std::vector<std::string>{"out of patience"}));
  }
}

// As negotiate(), with the response cache on; also returns each rank's coordinator rounds.
std::vector<std::vector<ResponseList>> negotiate_cached(
    int size, const std::vector<std::vector<RequestList>>& submissions, int capacity,
    std::vector<int>* gather_rounds, std::chrono::milliseconds hold_limit = std::chrono::hours(1)) {
  FakeControlNetwork network(size);
  std::vector<std::vector<ResponseList>> results(size);
  gather_rounds->assign(size, 0);
  run_ranks(size, [&](int rank) {
    FakeControlChannel channel(&network, rank);
    ControllerOptions options;
    options.fusion_threshold_bytes = 0;  // keep names visible one per response
    options.cache_capacity = capacity;
    options.hit_hold_limit = hold_limit;
    Controller controller(&channel, options);
    for (const RequestList& mine : submissions[rank]) {
      auto out = controller.negotiate(mine);
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      results[rank].push_back(out.value());
    }
    (*gather_rounds)[rank] = channel.gather_rounds;
  });
  return results;
}

std::vector<std::string> names_of(const ResponseList& list) {
  std::vector<std::string> out;
  for (const auto& r : list.responses) {
    for (const auto& n : r.names)
      out.push_back(n);
  }
  return out;
}

TEST(ControllerCacheTest, RepeatedTensorsNeedNoCoordinatorRound) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size);
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 4; ++step) {
      // Different orders on different ranks, every step.
      std::vector<Request> requests = {request(rank, "a"), request(rank, "b"), request(rank, "c")};
      std::rotate(requests.begin(), requests.begin() + (rank + step) % 3, requests.end());
      submissions[rank].push_back(list_of(requests));
    }
  }
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 16, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    EXPECT_EQ(gathers[rank], 1) << "only the first step negotiates through rank 0";
    for (int step = 0; step < 4; ++step) {
      auto names = names_of(results[rank][step]);
      EXPECT_EQ(names.size(), 3u);
      EXPECT_EQ(results[rank][step].responses, results[0][step].responses) << rank << step;
    }
  }
  // Cached rounds run in bit order, which is the order the first step's responses had.
  EXPECT_EQ(names_of(results[0][3]), names_of(results[0][0]));
}

TEST(ControllerCacheTest, ShutdownReasonReachesEveryRankAfterCachedSteps) {
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size);
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 3; ++step)
      submissions[rank].push_back(list_of({request(rank, "w")}));
    submissions[rank].push_back(RequestList{});
  }
  submissions[1][3].shutdown = true;
  submissions[1][3].shutdown_reason = "uncaught exception std::runtime_error: loss is NaN";
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 16, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    EXPECT_EQ(gathers[rank], 2) << "the first step and the shutdown go through rank 0";
    EXPECT_EQ(results[rank][3].shutdown_ranks, (std::vector<std::int32_t>{1}));
    EXPECT_EQ(results[rank][3].shutdown_reasons,
              (std::vector<std::string>{submissions[1][3].shutdown_reason}));
  }
}

TEST(ControllerCacheTest, ShapeChangeOnOneRankAfterCachingIsAnErrorOnEveryRank) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "w", {4})}), list_of({request(0, "w", {4})}),
                    list_of({request(0, "w", {6})})};
  submissions[1] = {list_of({request(1, "w", {4})}), list_of({request(1, "w", {5})}),
                    list_of({request(1, "w", {6})})};
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 4, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    ASSERT_EQ(results[rank][1].responses.size(), 1u);
    EXPECT_EQ(results[rank][1].responses[0].type, ResponseType::Error);
    EXPECT_EQ(results[rank][1].responses[0].error_message,
              "allreduce 'w': ranks disagree on shape: rank 0 has [4]; rank 1 has [5]");
    // Both changed to [6]: a new entry, negotiated through rank 0, then fine.
    ASSERT_EQ(results[rank][2].responses.size(), 1u);
    EXPECT_EQ(results[rank][2].responses[0].type, ResponseType::Allreduce);
    EXPECT_EQ(results[rank][2].responses[0].element_counts, (std::vector<std::int64_t>{6}));
  }
}

TEST(ControllerCacheTest, CapacityOneWithManyTensors) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 3; ++step) {
      std::vector<Request> requests;
      for (int t = 0; t < 5; ++t)
        requests.push_back(request(rank, "t" + std::to_string(rank == 0 ? t : 4 - t)));
      submissions[rank].push_back(list_of(requests));
    }
  }
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 1, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 3; ++step) {
      auto names = names_of(results[rank][step]);
      std::sort(names.begin(), names.end());
      EXPECT_EQ(names, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}))
          << "rank " << rank << " step " << step;
      EXPECT_EQ(results[rank][step].responses, results[0][step].responses);
    }
  }
}

TEST(ControllerCacheTest, HitReadyOnOneRankWaitsForTheOthers) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "x")}), list_of({request(0, "x")}), {}, {}};
  submissions[1] = {list_of({request(1, "x")}), {}, {}, list_of({request(1, "x")})};
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 4, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    EXPECT_TRUE(results[rank][1].responses.empty());
    EXPECT_TRUE(results[rank][2].responses.empty());
    EXPECT_EQ(names_of(results[rank][3]), (std::vector<std::string>{"x"}));
    EXPECT_EQ(gathers[rank], 1);
  }
}

TEST(ControllerCacheTest, HitHeldTooLongGoesToTheCoordinatorOnEveryRank) {
  const int size = 2;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "x")}), list_of({request(0, "x")}), {}, {}};
  submissions[1] = {list_of({request(1, "x")}), {}, {}, list_of({request(1, "x")})};
  std::vector<int> gathers;
  // Hold limit 0: rank 0's hit is evicted everywhere in the round it arrives and sent to the
  // coordinator, where rank 1's (now a miss) completes it.
  auto results = negotiate_cached(size, submissions, 4, &gathers, std::chrono::milliseconds(0));
  for (int rank = 0; rank < size; ++rank) {
    EXPECT_EQ(names_of(results[rank][3]), (std::vector<std::string>{"x"}));
    EXPECT_GE(gathers[rank], 3);
  }
}

TEST(ControllerCacheTest, HitInvalidatedInTheRoundItIsReadyEverywhereRunsOnce) {
  // Hold limit 0: every hit has waited "too long" in the very round it arrives, so each rank
  // both offers it as ready and invalidates it. It must run once, through the coordinator,
  // not fail the round as a malformed bit vector.
  const int size = 3;
  std::vector<std::vector<RequestList>> submissions(size);
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 3; ++step)
      submissions[rank].push_back(list_of({request(rank, "x")}));
  }
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 4, &gathers, std::chrono::milliseconds(0));
  for (int rank = 0; rank < size; ++rank) {
    for (int step = 0; step < 3; ++step) {
      EXPECT_EQ(names_of(results[rank][step]), (std::vector<std::string>{"x"}))
          << "rank " << rank << " step " << step;
      EXPECT_EQ(results[rank][step].responses, results[0][step].responses);
    }
    EXPECT_EQ(gathers[rank], 3);
  }
}

TEST(ControllerCacheTest, JoinedRankLetsCachedAllreducesRun) {
  const int size = 2;
  Request join;
  join.op = OpType::Join;
  join.name = kJoinName;
  std::vector<std::vector<RequestList>> submissions(size);
  submissions[0] = {list_of({request(0, "x")}), list_of({request(0, "x")}), {}, list_of({join})};
  submissions[1] = {list_of({request(1, "x")}), list_of({join}), {}, {}};
  std::vector<int> gathers;
  auto results = negotiate_cached(size, submissions, 4, &gathers);
  for (int rank = 0; rank < size; ++rank) {
    // Round 1: rank 1 joins while rank 0's hit is ready: it runs, rank 1 contributing zeros.
    EXPECT_EQ(names_of(results[rank][1]), (std::vector<std::string>{"x"})) << rank;
    ASSERT_EQ(results[rank][3].responses.size(), 1u);
    EXPECT_EQ(results[rank][3].responses[0].type, ResponseType::Join);
    EXPECT_EQ(results[rank][3].responses[0].root_rank, 0);
  }
}

// Autotuning on rank 0 with a single fusion threshold and cycle time to try: after a warm-up
// sample and that trial it tries the response cache switched off, then settles. Rank 0's
// clock is fake: a round takes 1 ms with the cache on and 3 ms with it off, so the cache
// comes back on after its trial.
// Rank 1 submits "c" a round after rank 0, so rank 0 holds a cache hit in every even round
// while the cache is on; the second pass starts with one more round that moves data, which
// moves each switch by one round against that pattern. Whatever the switches meet, every rank must
// get the same lists, "a" and "b" in each even round and "c" in the odd round after, nothing lost
// or late.
TEST(ControllerCacheTest, AutotuneSwitchesTheCacheWithoutLosingOrDelayingRequests) {
  for (const int shift : {0, 1}) {
    const int size = 2, steps = 12;
    std::vector<std::vector<RequestList>> submissions(size);
    for (int rank = 0; rank < size; ++rank) {
      for (int i = 0; i < shift; ++i)
        submissions[rank].push_back(list_of({request(rank, "warm")}));
      for (int step = 0; step < steps; ++step) {
        if (rank == 0) {
          submissions[rank].push_back(
              list_of({request(rank, "a"), request(rank, "b"), request(rank, "c")}));
          submissions[rank].push_back(RequestList{});
        } else {
          submissions[rank].push_back(list_of({request(rank, "b"), request(rank, "a")}));
          submissions[rank].push_back(list_of({request(rank, "c")}));
        }
      }
    }
    FakeControlNetwork network(size);
    std::vector<std::vector<ResponseList>> results(size);
    std::vector<std::vector<bool>> cache_on(size);
    run_ranks(size, [&](int rank) {
      FakeControlChannel channel(&network, rank);
      auto fake_now = std::chrono::steady_clock::time_point();
      ControllerOptions options;
      options.hit_hold_limit = std::chrono::hours(1);
      if (rank == 0)
        options.clock = [&fake_now] { return fake_now; };
      options.fusion_threshold_bytes = 1 << 20;
      options.cache_capacity = 8;
      options.autotune = true;
      options.autotune_options.warmup_samples = 1;
      options.autotune_options.steps_per_sample = 1;
      options.autotune_options.fusion_thresholds = {1 << 20};
      options.autotune_options.cycle_times_us = {options.cycle_time_us};
      Controller controller(&channel, options);
      for (const RequestList& mine : submissions[rank]) {
        fake_now += std::chrono::milliseconds(controller.cache_enabled() ? 1 : 3);
        auto out = controller.negotiate(mine);
        ASSERT_TRUE(out.is_ok()) << out.status().message();
        results[rank].push_back(out.value());
        cache_on[rank].push_back(controller.cache_enabled());
      }
    });
    bool switched_off = false, final = false;
    for (size_t round = 0; round < results[0].size(); ++round) {
      const ResponseList& list = results[0][round];
      switched_off |= list.tuned_fusion_threshold_bytes > 0 && !list.tuned_cache_enabled;
      final |= list.tuning_final;
      for (int rank = 0; rank < size; ++rank) {
        EXPECT_EQ(results[rank][round].responses, list.responses) << shift << " " << round;
        EXPECT_EQ(cache_on[rank][round], cache_on[0][round]) << shift << " " << round;
        auto names = names_of(results[rank][round]);
        std::sort(names.begin(), names.end());
        const bool even = (round - shift) % 2 == 0;
        const auto expected = round < static_cast<size_t>(shift) ? std::vector<std::string>{"warm"}
                              : even ? std::vector<std::string>{"a", "b"}
                                     : std::vector<std::string>{"c"};
        EXPECT_EQ(names, expected) << "shift " << shift << " round " << round << " rank " << rank;
      }
    }
    EXPECT_TRUE(switched_off) << "shift " << shift << ": the cache-off trial never started";
    EXPECT_TRUE(final) << "shift " << shift << ": tuning never ended";
    // Rank 0's tuner counts rounds that moved data (all of them here): a warm-up sample
    // (rounds 0-1), the threshold trial (announced in round 2; rounds 2-3), then the cache-off
    // trial, announced and taken in round 4 (rounds 4-5): with "c" held on rank 0 for shift 0,
    // in a "c" round for shift 1. Its 3 ms rounds lose, so the final choice, announced in
    // round 6, switches the cache back on: for shift 0 while rank 0's "c" waits at the
    // coordinator (sent in round 6 with the cache off), which must still come in round 7.
    EXPECT_TRUE(cache_on[0][3]) << "shift " << shift;
    EXPECT_FALSE(cache_on[0][4]) << "shift " << shift;
    EXPECT_FALSE(cache_on[0][5]) << "shift " << shift;
    for (size_t round = 6; round < cache_on[0].size(); ++round)
      EXPECT_TRUE(cache_on[0][round]) << "shift " << shift << " round " << round;
  }
}

// The hierarchical allreduce is the runtime's to apply: the controller only carries rank 0's
// tuner's value to every rank, in cached rounds too. Rounds with it on are made slower on rank 0's
// fake clock, so the tuner tries it once and chooses it off again.
TEST(ControllerCacheTest, AutotuneCarriesTheHierarchicalSwitchToEveryRank) {
  const int size = 3, steps = 16;
  FakeControlNetwork network(size);
  std::vector<std::vector<ResponseList>> results(size);
  run_ranks(size, [&](int rank) {
    FakeControlChannel channel(&network, rank);
    auto fake_now = std::chrono::steady_clock::time_point();
    ControllerOptions options;
    if (rank == 0)
      options.clock = [&fake_now] { return fake_now; };
    options.cache_capacity = 8;
    options.autotune = true;
    options.autotune_options.warmup_samples = 1;
    options.autotune_options.steps_per_sample = 1;
    options.autotune_options.fusion_thresholds = {options.fusion_threshold_bytes};
    options.autotune_options.cycle_times_us = {options.cycle_time_us};
    // What the runtime sets where the hierarchy can run; only rank 0's tuner reads it.
    options.autotune_options.tune_hierarchical = true;
    Controller controller(&channel, options);
    bool hierarchical = false;  // what the runtime would have applied
    for (int step = 0; step < steps; ++step) {
      fake_now += std::chrono::milliseconds(hierarchical ? 5 : 1);
      auto out = controller.negotiate(list_of({request(rank, "a"), request(rank, "b")}));
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      if (out.value().tuned_fusion_threshold_bytes > 0)
        hierarchical = out.value().tuned_hierarchical_allreduce;
      results[rank].push_back(out.value());
    }
  });
  int hierarchical_rounds = 0;
  bool final_seen = false;
  for (size_t round = 0; round < results[0].size(); ++round) {
    const ResponseList& list = results[0][round];
    for (int rank = 1; rank < size; ++rank) {
      const ResponseList& other = results[rank][round];
      EXPECT_EQ(other.responses, list.responses) << "round " << round << " rank " << rank;
      EXPECT_EQ(other.tuned_fusion_threshold_bytes, list.tuned_fusion_threshold_bytes) << round;
      EXPECT_EQ(other.tuned_hierarchical_allreduce, list.tuned_hierarchical_allreduce) << round;
      EXPECT_EQ(other.tuning_final, list.tuning_final) << round;
    }
    if (list.tuned_fusion_threshold_bytes > 0 && list.tuned_hierarchical_allreduce) {
      EXPECT_FALSE(list.tuning_final) << "the slower hierarchical trial was chosen";
      ++hierarchical_rounds;
    }
    if (list.tuning_final) {
      final_seen = true;
      EXPECT_FALSE(list.tuned_hierarchical_allreduce);
    }
  }
  EXPECT_EQ(hierarchical_rounds, 1) << "one trial announces it once";
  EXPECT_TRUE(final_seen) << "tuning never ended in " << steps << " rounds";
}

// Random schedules: 2-4 ranks submit a few names per step, each name in a random round, in
// random order; capacities 2 and 8 (evictions while hits are held), hold limits 0 and 1 s;
// every rank joins after its own number of steps. Rank 0 autotunes on a fake clock with random
// round times, so the cache-off trial and the choice fall on different rounds per seed (seed
// by seed the same). Every rank must get identical lists and cache states, every request
// answered exactly once, nothing answered that is not in flight (except zeros run while
// joined), nothing left at the end, nothing hung.
TEST(ControllerStressTest, RandomSchedulesWithJoinAndCacheSwitches) {
  int switches = 0;
  for (int seed = 0; seed < 60; ++seed) {
    std::mt19937 setup(seed);
    const int size = 2 + static_cast<int>(setup() % 3);
    const int capacity = setup() % 2 ? 2 : 8;
    const auto hold = std::chrono::milliseconds(setup() % 3 == 0 ? 0 : 1000);
    const double submit_chance = 0.2 + 0.7 * static_cast<double>(setup() % 100) / 100.0;
    const int names = 3 + static_cast<int>(setup() % 5);
    std::vector<int> steps(size);
    for (int& s : steps)
      s = 5 + static_cast<int>(setup() % 20);
    FakeControlNetwork network(size);
    std::vector<std::vector<ResponseList>> results(size);
    std::vector<std::vector<bool>> cache_on(size);
    std::vector<std::string> failures(size);
    run_ranks(size, [&](int rank) {
      std::mt19937 rng(static_cast<unsigned>(seed * 100 + rank));
      FakeControlChannel channel(&network, rank);
      auto fake_now = std::chrono::steady_clock::time_point();
      ControllerOptions options;
      options.fusion_threshold_bytes = 1 << 20;
      options.cache_capacity = capacity;
      options.hit_hold_limit = hold;
      options.autotune = true;
      options.autotune_options.warmup_samples = 1;
      options.autotune_options.steps_per_sample = 1;
      options.autotune_options.fusion_thresholds = {8, 40, 1 << 20};
      options.autotune_options.cycle_times_us = {options.cycle_time_us};
      if (rank == 0)
        options.clock = [&fake_now] { return fake_now; };
      Controller controller(&channel, options);
      std::set<std::string> to_submit, in_flight;
      auto next_step = [&] {
        for (int t = 0; t < names; ++t)
          to_submit.insert("t" + std::to_string(t));
      };
      next_step();
      int step = 0;
      bool joined = false;
      for (int round = 0; round < 5000; ++round) {
        fake_now += std::chrono::microseconds(100 + rng() % 1000);
        RequestList mine;
        if (!joined && step == steps[rank]) {
          Request join;
          join.op = OpType::Join;
          join.name = kJoinName;
          join.rank = rank;
          mine.requests.push_back(join);
          joined = true;
        } else if (!joined) {
          std::vector<std::string> now;
          for (const std::string& name : to_submit) {
            if (std::uniform_real_distribution<>(0, 1)(rng) < submit_chance)
              now.push_back(name);
          }
          std::shuffle(now.begin(), now.end(), rng);
          for (const std::string& name : now) {
            to_submit.erase(name);
            in_flight.insert(name);
            mine.requests.push_back(request(rank, name));
          }
        }
        auto out = controller.negotiate(mine);
        if (!out.is_ok()) {
          failures[rank] += "round " + std::to_string(round) + ": " + out.status().message();
          return;
        }
        results[rank].push_back(out.value());
        cache_on[rank].push_back(controller.cache_enabled());
        bool join_done = false;
        for (const Response& response : out.value().responses) {
          if (response.type == ResponseType::Join) {
            join_done = true;
            continue;
          }
          if (response.type == ResponseType::Error) {
            failures[rank] += "error: " + response.error_message + "; ";
            continue;
          }
          for (const std::string& name : response.names) {
            if (in_flight.erase(name) == 0 && !joined) {
              failures[rank] +=
                  "round " + std::to_string(round) + ": '" + name + "' was not in flight; ";
            }
          }
        }
        if (!joined && to_submit.empty() && in_flight.empty() && ++step < steps[rank])
          next_step();
        if (join_done) {
          if (!in_flight.empty())
            failures[rank] += "in flight when every rank had joined; ";
          return;
        }
      }
      failures[rank] += "no end after 5000 rounds";
    });
    for (int rank = 0; rank < size; ++rank) {
      EXPECT_EQ(failures[rank], "") << "seed " << seed << " rank " << rank;
      ASSERT_EQ(results[rank].size(), results[0].size()) << "seed " << seed << " rank " << rank;
      for (size_t round = 0; round < results[0].size(); ++round) {
        EXPECT_EQ(results[rank][round].responses, results[0][round].responses)
            << "seed " << seed << " round " << round << " rank " << rank;
        EXPECT_EQ(cache_on[rank][round], cache_on[0][round])
            << "seed " << seed << " round " << round << " rank " << rank;
      }
    }
    for (size_t round = 1; round < cache_on[0].size(); ++round)
      switches += cache_on[0][round] != cache_on[0][round - 1] ? 1 : 0;
  }
  EXPECT_GE(switches, 60) << "the cache-off trial should start in every seed";
}

}  // namespace
}  // namespace hvd
