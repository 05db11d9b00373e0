// Which GPU each rank of a communicator chose, and the check NCCL needs: one rank per GPU.
// Framework- and CUDA-free, so CPU-only CI tests it (the CUDA side fills the claims in
// NcclCommunicator::create).
#pragma once

#include <string>
#include <vector>

#include "horovod_cpp/status.h"

namespace hvd {

struct GpuClaim {
  std::string host_name;  // MPI_Get_processor_name: for messages, and part of the host's key
  // The kernel's boot id: containers on different machines may share a host name (NCCL tells
  // hosts apart the same way); empty where it cannot be read.
  std::string boot_id;
  std::string bus_id;  // the GPU's PCI bus id, the same whichever CUDA device number names it
  int device = -1;     // the CUDA device number the rank chose
};

// This machine's boot id (/proc/sys/kernel/random/boot_id), or "" if there is none.
std::string read_boot_id();

// An error naming, for the first GPU that several ranks chose, those ranks, their host and the
// GPU, with what to do instead; OK if each rank has a GPU of its own. claims[r] is rank r's.
Status check_one_rank_per_gpu(const std::vector<GpuClaim>& claims);

}  // namespace hvd
