// Broadcast of one contiguous host buffer over MPI.
#pragma once

#include <cstdint>

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

// Sends `bytes` bytes of `buffer` from `root` to every rank of `comm`, in INT_MAX-byte chunks.
Status mpi_broadcast(void* buffer, std::int64_t bytes, int root, MPI_Comm comm);

}  // namespace hvd
