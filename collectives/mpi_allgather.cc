#include "collectives/mpi_allgather.h"

#include <climits>

#include "collectives/mpi_check.h"

namespace hvd {
namespace {

// Move-only owner of a committed MPI datatype.
class RowType {
 public:
  explicit RowType(MPI_Datatype type) : type_(type) {}
  ~RowType() {
    if (type_ != MPI_DATATYPE_NULL)
      MPI_Type_free(&type_);
  }
  RowType(const RowType&) = delete;
  RowType& operator=(const RowType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_;
};

}  // namespace

Status mpi_allgatherv(const void* input, void* output, std::int64_t row_bytes,
                      const std::vector<std::int64_t>& rows_by_rank, int rank, MPI_Comm comm) {
  if (row_bytes == 0)
    return Status::ok();  // nothing to move
  if (row_bytes > INT_MAX) {
    return Status::error("rows of " + std::to_string(row_bytes) +
                         " bytes exceed MPI's int count; reshape so dim 0 carries more");
  }
  std::vector<int> counts(rows_by_rank.size());
  std::vector<int> displacements(rows_by_rank.size());
  std::int64_t offset = 0;
  for (size_t r = 0; r < rows_by_rank.size(); ++r) {
    if (rows_by_rank[r] > INT_MAX || offset > INT_MAX) {
      return Status::error("allgather of more than " + std::to_string(INT_MAX) +
                           " rows is not supported by MPI's int counts");
    }
    counts[r] = static_cast<int>(rows_by_rank[r]);
    displacements[r] = static_cast<int>(offset);
    offset += rows_by_rank[r];
  }
  MPI_Datatype raw = MPI_DATATYPE_NULL;
  HVD_RETURN_IF_MPI_ERROR(MPI_Type_contiguous(static_cast<int>(row_bytes), MPI_BYTE, &raw));
  RowType row(raw);
  HVD_RETURN_IF_MPI_ERROR(MPI_Type_commit(&raw));
  return HVD_MPI_STATUS(MPI_Allgatherv(input, counts[rank], row.get(), output, counts.data(),
                                       displacements.data(), row.get(), comm));
}

}  // namespace hvd
