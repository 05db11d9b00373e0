// join and barrier across real MPI ranks. Join: ranks run different numbers of allreduces; the
// joined ranks contribute zeros, which every rank accounts for in the values it expects.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "horovod_cpp/torch.h"

namespace {

using hvd_test::expect_error;

// Rank r runs steps_of(r) allreduces of (r + 1) * ones, then joins. Step i's Sum counts only
// the ranks still running at step i.
void run_uneven_steps(const std::function<int(int)>& steps_of, const std::string& tag) {
  const int rank = hvd::rank(), size = hvd::size();
  for (int step = 0; step < steps_of(rank); ++step) {
    double sum = 0;
    for (int r = 0; r < size; ++r)
      sum += steps_of(r) > step ? r + 1 : 0;
    auto input = torch::full({3}, rank + 1, torch::kFloat64);
    auto got_sum = hvd::allreduce(input, hvd::ReduceOp::Sum, tag + ".sum." + std::to_string(step));
    auto got_avg =
        hvd::allreduce(input, hvd::ReduceOp::Average, tag + ".avg." + std::to_string(step));
    EXPECT_TRUE(torch::equal(got_sum, torch::full({3}, sum, torch::kFloat64))) << tag << step;
    EXPECT_TRUE(torch::allclose(got_avg, torch::full({3}, sum / size, torch::kFloat64)))
        << tag << step;
  }
}

TEST(JoinTest, RanksWithMoreStepsFinishWithZerosFromJoinedRanks) {
  const int size = hvd::size();
  // Rank r has r + 1 steps: the last rank joins last, strictly after everyone else.
  run_uneven_steps([](int r) { return r + 1; }, "join.up");
  EXPECT_EQ(hvd::join(), size - 1);
  // Now rank 0 has the most steps.
  run_uneven_steps([size](int r) { return 2 * (size - r); }, "join.down");
  EXPECT_EQ(hvd::join(), 0);
  // Join state resets: a plain allreduce needs every rank again.
  auto all = hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum, "join.after");
  EXPECT_TRUE(torch::equal(all, torch::full({2}, size, torch::kFloat32)));
}

TEST(JoinTest, IntegerAllreduceWhileJoined) {
  const int rank = hvd::rank(), size = hvd::size();
  if (rank != 0) {
    // Ranks 1.. reduce int32 values; rank 0 has joined and contributes zeros.
    auto got =
        hvd::allreduce(torch::full({2}, rank, torch::kInt32), hvd::ReduceOp::Average, "join.int");
    const int sum = size * (size - 1) / 2;
    EXPECT_TRUE(torch::equal(got, torch::full({2}, sum / size, torch::kInt32)));
  }
  const int last = hvd::join();
  auto lasts = hvd::allgather(torch::full({1}, last, torch::kInt32), "join.lasts");
  EXPECT_TRUE(torch::equal(lasts, torch::full({size}, last, torch::kInt32)));
  EXPECT_TRUE(size == 1 ? last == 0 : last >= 1);
}

TEST(JoinTest, FusedGroupWhileJoined) {
  const int rank = hvd::rank(), size = hvd::size();
  if (rank != 0) {
    // One fused call of three tensors; rank 0 runs it with zero stand-ins.
    std::vector<torch::Tensor> inputs = {torch::full({3}, rank, torch::kFloat32),
                                         torch::full({2, 2}, rank, torch::kFloat32),
                                         torch::full({1}, 10 * rank, torch::kFloat32)};
    auto got = hvd::grouped_allreduce(inputs, hvd::ReduceOp::Sum, "join.group");
    const float sum = size * (size - 1) / 2.0f;
    EXPECT_TRUE(torch::equal(got[0], torch::full({3}, sum)));
    EXPECT_TRUE(torch::equal(got[1], torch::full({2, 2}, sum)));
    EXPECT_TRUE(torch::equal(got[2], torch::full({1}, 10 * sum)));
  }
  EXPECT_GE(hvd::join(), size == 1 ? 0 : 1);
}

TEST(JoinTest, OtherOpsFailOnEveryRankWhileRanksAreJoined) {
  const int rank = hvd::rank(), size = hvd::size();
  if (rank == 0) {
    EXPECT_GE(hvd::join(), 1);
    return;
  }
  expect_error([] { hvd::allgather(torch::ones({1}), "join.gather"); },
               {"allgather 'join.gather'", "cannot run while rank 0 has joined"});
  expect_error([] { hvd::broadcast(torch::ones({1}), 1, "join.bcast"); },
               {"broadcast 'join.bcast'", "cannot run while rank 0 has joined"});
  EXPECT_GE(hvd::join(), 1);
  (void)size;
}

TEST(BarrierTest, EveryRankHasArrivedWhenItReturns) {
  const int rank = hvd::rank(), size = hvd::size();
  // A directory shared by this run's ranks: rank 0's pid, broadcast.
  auto pid = hvd::broadcast(torch::full({1}, static_cast<int64_t>(getpid()), torch::kInt64), 0,
                            "barrier.pid");
  const std::string prefix = "/tmp/hvd_barrier_test." + std::to_string(pid.item<int64_t>()) + ".";
  for (int round = 0; round < 3; ++round) {
    // Rank r arrives late by r * 20 ms; after the barrier every rank's mark must exist.
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * rank));
    std::ofstream(prefix + std::to_string(round) + "." + std::to_string(rank)) << "here";
    hvd::barrier();
    for (int r = 0; r < size; ++r) {
      std::ifstream mark(prefix + std::to_string(round) + "." + std::to_string(r));
      EXPECT_TRUE(mark.good()) << "round " << round << ": rank " << r << " had not arrived";
    }
  }
  hvd::barrier();  // nobody removes a mark another rank still checks
  for (int round = 0; round < 3; ++round)
    std::remove((prefix + std::to_string(round) + "." + std::to_string(rank)).c_str());
}

TEST(BarrierTest, UnnamedOpsOfDifferentKindsMayInterleaveDifferently) {
  const int rank = hvd::rank(), size = hvd::size();
  // Rank 0 queues an unnamed allreduce before its barrier; the others after theirs. Names
  // count per kind, so "allreduce.noname.<n>" still matches across ranks.
  torch::Tensor got;
  if (rank == 0) {
    auto h = hvd::allreduce_async(torch::ones({2}), hvd::ReduceOp::Sum);
    hvd::barrier();
    got = hvd::synchronize(h);
  } else {
    hvd::barrier();
    got = hvd::allreduce(torch::ones({2}), hvd::ReduceOp::Sum);
  }
  EXPECT_TRUE(torch::equal(got, torch::full({2}, size, torch::kFloat32)));
}

}  // namespace
