// Move-only owner of an MPI communicator we created (dup or split); freed on destruction.
// Every communicator we create returns errors instead of aborting (MPI_ERRORS_RETURN).
#pragma once

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

class MpiComm {
 public:
  MpiComm() = default;
  ~MpiComm();
  MpiComm(MpiComm&& other) noexcept;
  MpiComm& operator=(MpiComm&& other) noexcept;
  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;

  static StatusOr<MpiComm> duplicate(MPI_Comm parent);
  static StatusOr<MpiComm> split(MPI_Comm parent, int color, int key);
  static StatusOr<MpiComm> split_shared_memory(MPI_Comm parent);

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  static StatusOr<MpiComm> adopt(MPI_Comm comm);
  void reset();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 0;
};

}  // namespace hvd
