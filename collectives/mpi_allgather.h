// Allgather of rows of a contiguous host buffer over MPI, where each rank may contribute a
// different number of rows (MPI_Allgatherv over a row datatype).
#pragma once

#include <cstdint>
#include <vector>

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

// Rank r contributes rows_by_rank[r] rows of `row_bytes` bytes from `input`; `output` receives
// all of them in rank order. Row counts and the row size must each fit MPI's int.
Status mpi_allgatherv(const void* input, void* output, std::int64_t row_bytes,
                      const std::vector<std::int64_t>& rows_by_rank, int rank, MPI_Comm comm);

}  // namespace hvd
