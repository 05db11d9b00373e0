#include "collectives/gpu_claims.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hvd {
namespace {

const std::string kBoot = "5b1c3a9e-0000-4000-8000-000000000001";
const std::string kOtherBoot = "5b1c3a9e-0000-4000-8000-000000000002";

TEST(GpuClaimsTest, EachRankOnAGpuOfItsOwnIsFine) {
  EXPECT_TRUE(check_one_rank_per_gpu({}).is_ok());
  EXPECT_TRUE(check_one_rank_per_gpu({{"node1", kBoot, "0000:18:00.0", 0},
                                      {"node1", kBoot, "0000:2a:00.0", 1},
                                      {"node2", kOtherBoot, "0000:18:00.0", 0}})
                  .is_ok());
}

TEST(GpuClaimsTest, RanksOnOneGpuOfOneHostAreNamedWithTheGpuAndWhatToDo) {
  const Status shared = check_one_rank_per_gpu({{"node1", kBoot, "0000:18:00.0", 0},
                                                {"node1", kBoot, "0000:2a:00.0", 1},
                                                {"node1", kBoot, "0000:18:00.0", 0},
                                                {"node1", kBoot, "0000:18:00.0", 0}});
  ASSERT_FALSE(shared.is_ok());
  const std::string& m = shared.message();
  EXPECT_NE(m.find("ranks 0, 2-3 on host node1 all chose the same GPU (PCI 0000:18:00.0"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("CUDA device 0, 0, 0"), std::string::npos) << m;
  EXPECT_NE(m.find("hvd::local_rank()"), std::string::npos) << m;
  EXPECT_NE(m.find("HOROVOD_GPU_OPERATIONS=MPI"), std::string::npos) << m;
}

TEST(GpuClaimsTest, OneGpuUnderTwoDeviceNumbersIsStillOneGpu) {
  // CUDA_VISIBLE_DEVICES differing by rank: device 0 and device 1 may be the same card.
  const Status shared = check_one_rank_per_gpu(
      {{"node1", kBoot, "0000:18:00.0", 0}, {"node1", kBoot, "0000:18:00.0", 1}});
  ASSERT_FALSE(shared.is_ok());
  EXPECT_NE(shared.message().find("ranks 0-1 on host node1"), std::string::npos)
      << shared.message();
  EXPECT_NE(shared.message().find("CUDA device 0, 1"), std::string::npos) << shared.message();
}

TEST(GpuClaimsTest, HostsThatShareANameButNotABootAreDifferentHosts) {
  // Containers given one host name on two machines, each with the same slot's GPU.
  EXPECT_TRUE(check_one_rank_per_gpu({{"trainer", kBoot, "0000:18:00.0", 0},
                                      {"trainer", kOtherBoot, "0000:18:00.0", 0}})
                  .is_ok());
  // Without boot ids (unreadable), the host name decides, as before.
  EXPECT_FALSE(check_one_rank_per_gpu(
                   {{"trainer", "", "0000:18:00.0", 0}, {"trainer", "", "0000:18:00.0", 0}})
                   .is_ok());
}

TEST(GpuClaimsTest, ThisMachineHasABootId) {
  const std::string id = read_boot_id();
  EXPECT_EQ(id.size(), 36u) << "'" << id << "'";  // a UUID, without its newline
  EXPECT_EQ(read_boot_id(), id);
}

}  // namespace
}  // namespace hvd
