// Runs a Reducescatter response on this rank's entry: dim 0 is split over the ranks with the
// first (dim0 % size) ranks getting one extra row; rank r receives the reduction of every
// rank's r-th block of rows. Thread: background only.
#pragma once

#include <cstdint>
#include <vector>

#include "collectives/mpi_context.h"
#include "horovod_cpp/message.h"
#include "horovod_cpp/tensor_table_entry.h"

namespace hvd {

// Rows of a dim 0 of `rows` that rank `rank` of `size` receives.
inline std::int64_t reducescatter_rows(std::int64_t rows, int rank, int size) {
  return rows / size + (rank < rows % size ? 1 : 0);
}

// The elements of each rank's block of a tensor of `shape` (dim 0 split as above).
std::vector<std::int64_t> reducescatter_block_elements(const std::vector<std::int64_t>& shape,
                                                       int size);

Status run_reducescatter(const Response& response, const TensorTableEntry& entry,
                         const MpiContext& mpi);

}  // namespace hvd
