#include "collectives/mpi_allgather.h"

#include "collectives/mpi_row_type.h"

namespace hvd {

Status mpi_allgatherv(const void* input, void* output, std::int64_t row_bytes,
                      const std::vector<std::int64_t>& rows_by_rank, int rank, MPI_Comm comm) {
  if (row_bytes == 0)
    return Status::ok();  // nothing to move
  std::vector<int> counts, displacements;
  HVD_RETURN_IF_ERROR(to_mpi_counts(rows_by_rank, "allgather", &counts, &displacements));
  MpiRowType row;
  HVD_RETURN_IF_ERROR(row.commit(row_bytes));
  return HVD_MPI_STATUS(MPI_Allgatherv(input, counts[rank], row.get(), output, counts.data(),
                                       displacements.data(), row.get(), comm));
}

}  // namespace hvd
