// An MPI datatype for one dim-0 row of a tensor (row_bytes contiguous bytes), so that
// v-collectives count rows, not bytes, and stay within MPI's int counts for large tensors.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include <mpi.h>

#include "collectives/mpi_check.h"
#include "horovod_cpp/status.h"

namespace hvd {

// Owner of a committed row datatype; frees it on destruction.
class MpiRowType {
 public:
  MpiRowType() = default;
  ~MpiRowType() {
    if (type_ != MPI_DATATYPE_NULL)
      MPI_Type_free(&type_);
  }
  MpiRowType(const MpiRowType&) = delete;
  MpiRowType& operator=(const MpiRowType&) = delete;

  // `row_bytes` in [1, INT_MAX].
  Status commit(std::int64_t row_bytes) {
    if (row_bytes <= 0 || row_bytes > INT_MAX) {
      return Status::error("rows of " + std::to_string(row_bytes) +
                           " bytes exceed MPI's int count; reshape so dim 0 carries more");
    }
    HVD_RETURN_IF_MPI_ERROR(MPI_Type_contiguous(static_cast<int>(row_bytes), MPI_BYTE, &type_));
    return HVD_MPI_STATUS(MPI_Type_commit(&type_));
  }
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Row counts and their running offsets as MPI ints, or an error naming `what` when any of
// them exceeds INT_MAX.
inline Status to_mpi_counts(const std::vector<std::int64_t>& rows, const char* what,
                            std::vector<int>* counts, std::vector<int>* displacements) {
  counts->resize(rows.size());
  displacements->resize(rows.size());
  std::int64_t offset = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r] > INT_MAX || offset > INT_MAX) {
      return Status::error(std::string(what) + " of more than " + std::to_string(INT_MAX) +
                           " rows is not supported by MPI's int counts");
    }
    (*counts)[r] = static_cast<int>(rows[r]);
    (*displacements)[r] = static_cast<int>(offset);
    offset += rows[r];
  }
  return Status::ok();
}

}  // namespace hvd
