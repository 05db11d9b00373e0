// Whether MPI is up, and whether we are the ones who must finalize it. Gloo's "we own MPI"
// vs "caller owns MPI": if the user called MPI_Init before hvd::init(), MPI stays theirs.
#pragma once

#include <memory>

#include "horovod_cpp/status.h"

namespace hvd {

class MpiEnvironment {
 public:
  // Initializes MPI with MPI_THREAD_MULTIPLE unless it is up already. Fails if MPI was
  // finalized, or if the thread level granted is below MPI_THREAD_SERIALIZED (our background
  // thread makes MPI calls, never concurrently with our own others).
  static StatusOr<std::unique_ptr<MpiEnvironment>> create();
  ~MpiEnvironment();  // MPI_Finalize, only if we initialized MPI
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  bool owns_mpi() const { return owns_mpi_; }
  int thread_level() const { return thread_level_; }

 private:
  MpiEnvironment(bool owns_mpi, int thread_level)
      : owns_mpi_(owns_mpi), thread_level_(thread_level) {}
  const bool owns_mpi_;
  const int thread_level_;
};

}  // namespace hvd
