#include "horovod_cpp/broadcast_op.h"

#include <cstring>

#include "collectives/mpi_broadcast.h"

namespace hvd {

Status run_broadcast(const Response& response, const TensorTableEntry& entry,
                     const MpiContext& mpi) {
  const std::int64_t bytes = entry.byte_size();
  // The root sends from the output buffer, so an out-of-place broadcast copies its input there.
  if (mpi.topology().rank == response.root_rank && entry.input != entry.output && bytes > 0) {
    std::memcpy(entry.output, entry.input, static_cast<size_t>(bytes));
  }
  return mpi_broadcast(entry.output, bytes, response.root_rank, mpi.data_comm())
      .with_context("broadcast '" + entry.name + "'");
}

}  // namespace hvd
