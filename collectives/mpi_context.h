// Everything MPI one runtime owns: the environment, our communicators, the topology and the
// reduction ops. Created on the user thread inside init(); afterwards only the background
// thread communicates through it, and the topology numbers are constant. Destroyed by
// shutdown() after the background thread has stopped: ops and communicators are freed before
// the environment finalizes MPI (member order below).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "collectives/mpi_comm.h"
#include "collectives/mpi_environment.h"
#include "collectives/mpi_reduction_ops.h"

namespace hvd {

struct Topology {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // within this host (MPI_COMM_TYPE_SHARED)
  int local_size = 1;
  int cross_rank = 0;  // among the ranks with the same local_rank
  int cross_size = 1;
  bool homogeneous = true;  // every host runs local_size ranks
};

class MpiContext {
 public:
  static StatusOr<std::unique_ptr<MpiContext>> create();
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  const Topology& topology() const { return topology_; }
  bool owns_mpi() const { return environment_->owns_mpi(); }
  MPI_Comm control_comm() const { return control_comm_.get(); }
  MPI_Comm data_comm() const { return data_comm_.get(); }
  // This host's ranks, and the ranks with this rank's local_rank (one per host): the
  // hierarchical allreduce's two levels.
  MPI_Comm local_comm() const { return local_comm_.get(); }
  MPI_Comm cross_comm() const { return cross_comm_.get(); }
  const MpiReductionOps& reduction_ops() const { return *reduction_ops_; }

  // Collective over the control communicator: every rank passes the same number of values and
  // gets everyone's, rank 0's first.
  StatusOr<std::vector<std::int64_t>> allgather_values(const std::vector<std::int64_t>& mine) const;

  // Ends every process of the job (MPI_Abort on MPI_COMM_WORLD): for a rank that can no longer
  // take part in collectives other ranks may already be inside.
  [[noreturn]] void abort_job(int exit_code) const;

 private:
  MpiContext() = default;

  std::unique_ptr<MpiEnvironment> environment_;  // first in, last out
  MpiComm control_comm_;                         // negotiation
  MpiComm data_comm_;                            // payload collectives
  MpiComm local_comm_;
  MpiComm cross_comm_;
  std::unique_ptr<MpiReductionOps> reduction_ops_;
  Topology topology_;
};

}  // namespace hvd
