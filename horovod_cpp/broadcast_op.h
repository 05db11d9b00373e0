// Runs a Broadcast response on this rank's entry. Thread: background only.
#pragma once

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

Status run_broadcast(const Response& response, const TensorTableEntry& entry,
                     const MpiContext& mpi);

}  // namespace hvd
