// Shared main of the gtest multi-rank tests. The test owns MPI (MPI_Init_thread before
// hvd::init()), which also covers the "caller owns MPI" path. After the tests, every rank's
// failure count is combined so that one failing rank fails the test on every rank.
#include <cstdio>

#include <gtest/gtest.h>
#include <mpi.h>

#include "horovod_cpp/horovod.h"

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  hvd::init();
  const int rank = hvd::rank();
  const int size = hvd::size();
  const int local_result = RUN_ALL_TESTS();
  hvd::shutdown();
  int failed_here = local_result != 0 ? 1 : 0;
  int failed_ranks = 0;
  MPI_Allreduce(&failed_here, &failed_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("multirank: %d of %d ranks failed\n", failed_ranks, size);
  }
  MPI_Finalize();
  return failed_ranks == 0 ? 0 : 1;
}
