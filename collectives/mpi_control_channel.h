// ControlChannel over an MPI communicator: size exchange, then MPI_Gatherv / MPI_Bcast of the
// bytes; MPI_Allreduce(MPI_BAND) of the bit vector. All nonblocking, completed by
// wait_for_request. Thread: background only.
#pragma once

#include <mpi.h>

#include "horovod_cpp/control_channel.h"

namespace hvd {

class MpiControlChannel : public ControlChannel {
 public:
  // `comm` is owned by the MpiContext, which outlives this channel.
  explicit MpiControlChannel(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Status gather(const std::string& mine, std::vector<std::string>* all) override;
  Status broadcast(std::string* bytes) override;
  Status allreduce_and(std::vector<std::uint64_t>* words) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace hvd
