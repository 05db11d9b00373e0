#include "collectives/mpi_alltoall.h"

#include "collectives/mpi_row_type.h"

namespace hvd {

StatusOr<std::vector<std::int64_t>> mpi_exchange_row_counts(
    const std::vector<std::int64_t>& send_rows, MPI_Comm comm) {
  std::vector<std::int64_t> recv_rows(send_rows.size());
  static_assert(sizeof(std::int64_t) == sizeof(long long), "int64 travels as MPI_LONG_LONG");
  HVD_RETURN_IF_MPI_ERROR(
      MPI_Alltoall(send_rows.data(), 1, MPI_LONG_LONG, recv_rows.data(), 1, MPI_LONG_LONG, comm));
  return recv_rows;
}

Status mpi_alltoallv(const void* input, const std::vector<std::int64_t>& send_rows, void* output,
                     const std::vector<std::int64_t>& recv_rows, std::int64_t row_bytes,
                     MPI_Comm comm) {
  if (row_bytes == 0)
    return Status::ok();  // rows of zero bytes: nothing to move
  std::vector<int> send_counts, send_offsets, recv_counts, recv_offsets;
  HVD_RETURN_IF_ERROR(to_mpi_counts(send_rows, "alltoall", &send_counts, &send_offsets));
  HVD_RETURN_IF_ERROR(to_mpi_counts(recv_rows, "alltoall", &recv_counts, &recv_offsets));
  MpiRowType row;
  HVD_RETURN_IF_ERROR(row.commit(row_bytes));
  return HVD_MPI_STATUS(MPI_Alltoallv(input, send_counts.data(), send_offsets.data(), row.get(),
                                      output, recv_counts.data(), recv_offsets.data(), row.get(),
                                      comm));
}

}  // namespace hvd
