#include "collectives/mpi_context.h"

#include <cstdlib>
#include <string>

#include "collectives/mpi_check.h"

namespace hvd {

StatusOr<std::unique_ptr<MpiContext>> MpiContext::create() {
  std::unique_ptr<MpiContext> ctx(new MpiContext());
  HVD_ASSIGN_OR_RETURN(ctx->environment_, MpiEnvironment::create());
  HVD_ASSIGN_OR_RETURN(ctx->control_comm_, MpiComm::duplicate(MPI_COMM_WORLD));
  HVD_ASSIGN_OR_RETURN(ctx->data_comm_, MpiComm::duplicate(MPI_COMM_WORLD));
  // Tests only: HVD_TEST_RANKS_PER_HOST=N makes each N consecutive ranks a "host", so that one
  // machine runs the multi-host paths (the hierarchical allreduce). Every rank gets the same
  // environment from mpirun.
  const char* per_host = std::getenv("HVD_TEST_RANKS_PER_HOST");
  if (per_host != nullptr && *per_host != '\0') {
    const int ranks_per_host = std::atoi(per_host);
    if (ranks_per_host <= 0) {
      return Status::error(std::string("HVD_TEST_RANKS_PER_HOST='") + per_host +
                           "': expected a positive rank count");
    }
    HVD_ASSIGN_OR_RETURN(
        ctx->local_comm_,
        MpiComm::split(ctx->control_comm_.get(), ctx->control_comm_.rank() / ranks_per_host,
                       ctx->control_comm_.rank()));
  } else {
    HVD_ASSIGN_OR_RETURN(ctx->local_comm_, MpiComm::split_shared_memory(ctx->control_comm_.get()));
  }
  HVD_ASSIGN_OR_RETURN(
      ctx->cross_comm_,
      MpiComm::split(ctx->control_comm_.get(), ctx->local_comm_.rank(), ctx->control_comm_.rank()));
  HVD_ASSIGN_OR_RETURN(ctx->reduction_ops_, MpiReductionOps::create());
  Topology& t = ctx->topology_;
  t.rank = ctx->control_comm_.rank();
  t.size = ctx->control_comm_.size();
  t.local_rank = ctx->local_comm_.rank();
  t.local_size = ctx->local_comm_.size();
  t.cross_rank = ctx->cross_comm_.rank();
  t.cross_size = ctx->cross_comm_.size();
  int local_size_bounds[2] = {t.local_size, -t.local_size};  // min, -max
  HVD_RETURN_IF_MPI_ERROR(MPI_Allreduce(MPI_IN_PLACE, local_size_bounds, 2, MPI_INT, MPI_MIN,
                                        ctx->control_comm_.get()));
  t.homogeneous = local_size_bounds[0] == -local_size_bounds[1];
  return ctx;
}

void MpiContext::abort_job(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::abort();  // MPI_Abort does not return; this only tells the compiler so
}

StatusOr<std::vector<std::int64_t>> MpiContext::allgather_values(
    const std::vector<std::int64_t>& mine) const {
  std::vector<std::int64_t> all(mine.size() * static_cast<std::size_t>(topology_.size));
  HVD_RETURN_IF_MPI_ERROR(MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T,
                                        all.data(), static_cast<int>(mine.size()), MPI_INT64_T,
                                        control_comm_.get()));
  return all;
}

}  // namespace hvd
