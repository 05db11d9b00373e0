// All-to-all of dim-0 rows of a contiguous host buffer over MPI: rank r sends send_rows[k]
// rows to rank k and receives recv_rows[k] from it (MPI_Alltoallv over a row datatype).
#pragma once

#include <cstdint>
#include <vector>

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

// Every rank tells every other how many rows it will send it: returns recv_rows.
StatusOr<std::vector<std::int64_t>> mpi_exchange_row_counts(
    const std::vector<std::int64_t>& send_rows, MPI_Comm comm);

// Rows are `row_bytes` bytes; `input` holds sum(send_rows) rows in destination order,
// `output` receives sum(recv_rows) rows in source order. Counts must fit MPI's int.
Status mpi_alltoallv(const void* input, const std::vector<std::int64_t>& send_rows, void* output,
                     const std::vector<std::int64_t>& recv_rows, std::int64_t row_bytes,
                     MPI_Comm comm);

}  // namespace hvd
