#include "collectives/gpu_claims.h"

#include <fstream>
#include <map>
#include <tuple>

#include "horovod_cpp/rank_ranges.h"

namespace hvd {

std::string read_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

Status check_one_rank_per_gpu(const std::vector<GpuClaim>& claims) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<int>> ranks_by_gpu;
  for (int r = 0; r < static_cast<int>(claims.size()); ++r) {
    const GpuClaim& claim = claims[static_cast<std::size_t>(r)];
    ranks_by_gpu[{claim.host_name, claim.boot_id, claim.bus_id}].push_back(r);
  }
  for (const auto& [gpu, ranks] : ranks_by_gpu) {
    if (ranks.size() < 2)
      continue;
    std::string devices;
    for (int r : ranks)
      devices += (devices.empty() ? "" : ", ") +
                 std::to_string(claims[static_cast<std::size_t>(r)].device);
    return Status::error(describe_ranks(ranks) + " on host " + std::get<0>(gpu) +
                         " all chose the same GPU (PCI " + std::get<2>(gpu) + ", CUDA device " +
                         devices +
                         "); NCCL needs one GPU per rank: pick the device from "
                         "hvd::local_rank(), or set HOROVOD_GPU_OPERATIONS=MPI");
  }
  return Status::ok();
}

}  // namespace hvd
