// Runs an Allgather response on this rank's entry: allocates the output with the gathered
// shape, then gathers every rank's rows in rank order. Thread: background only.
#pragma once

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status run_allgather(const Response& response, const TensorTableEntry& entry,
                     const MpiContext& mpi);

}  // namespace hvd
