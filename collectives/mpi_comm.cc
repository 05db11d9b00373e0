#include "collectives/mpi_comm.h"

#include <utility>

#include "collectives/mpi_check.h"

namespace hvd {

MpiComm::~MpiComm() {
  reset();
}

MpiComm::MpiComm(MpiComm&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}

MpiComm& MpiComm::operator=(MpiComm&& other) noexcept {
  if (this != &other) {
    reset();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

void MpiComm::reset() {
  if (comm_ == MPI_COMM_NULL)
    return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Comm_free(&comm_);  // errors here have nowhere useful to go
  comm_ = MPI_COMM_NULL;
}

StatusOr<MpiComm> MpiComm::adopt(MPI_Comm comm) {
  MpiComm owned;
  owned.comm_ = comm;
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_rank(comm, &owned.rank_));
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_size(comm, &owned.size_));
  return owned;
}

StatusOr<MpiComm> MpiComm::duplicate(MPI_Comm parent) {
  MPI_Comm comm = MPI_COMM_NULL;
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_dup(parent, &comm));
  return adopt(comm);
}

StatusOr<MpiComm> MpiComm::split(MPI_Comm parent, int color, int key) {
  MPI_Comm comm = MPI_COMM_NULL;
  HVD_RETURN_IF_MPI_ERROR(MPI_Comm_split(parent, color, key, &comm));
  return adopt(comm);
}

StatusOr<MpiComm> MpiComm::split_shared_memory(MPI_Comm parent) {
  MPI_Comm comm = MPI_COMM_NULL;
  HVD_RETURN_IF_MPI_ERROR(
      MPI_Comm_split_type(parent, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &comm));
  return adopt(comm);
}

}  // namespace hvd
