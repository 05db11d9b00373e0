// Runs an Alltoall response on this rank's entry: rank r sends splits[k] rows to rank k (even
// splits when none were given), learns how many rows each rank sends it, allocates the output
// with that many rows, and receives them in rank order. Thread: background only.
#pragma once

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status run_alltoall(const Response& response, const TensorTableEntry& entry, const MpiContext& mpi);

}  // namespace hvd
