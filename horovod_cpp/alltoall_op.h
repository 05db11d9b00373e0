// Runs an Alltoall response on this rank's entry: rank r sends splits[k] rows to rank k (even
// splits when none were given), learns how many rows each rank sends it, allocates the output
// with that many rows, and receives them in rank order. Thread: background only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

// The rows this rank sends to each rank (its splits, or an even split), the rows it receives
// from each (swapped with every rank over MPI), and so the output's shape. On either data plane.
struct AlltoallRows {
  std::vector<std::int64_t> sent;
  std::vector<std::int64_t> received;
  std::vector<std::int64_t> output_shape;
};
StatusOr<AlltoallRows> exchange_alltoall_rows(const TensorTableEntry& entry, const MpiContext& mpi,
                                              const std::string& what);

Status run_alltoall(const Response& response, const TensorTableEntry& entry, const MpiContext& mpi);

}  // namespace hvd
