#include "collectives/mpi_control_channel.h"

#include <climits>

#include "collectives/mpi_check.h"
#include "collectives/mpi_request_wait.h"

namespace hvd {

MpiControlChannel::MpiControlChannel(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Status MpiControlChannel::gather(const std::string& mine, std::vector<std::string>* all) {
  if (mine.size() > static_cast<size_t>(INT_MAX)) {
    return Status::error("control message of " + std::to_string(mine.size()) +
                         " bytes exceeds MPI's int count");
  }
  const int my_size = static_cast<int>(mine.size());
  std::vector<int> sizes(rank_ == 0 ? size_ : 0);
  MPI_Request request;
  HVD_RETURN_IF_MPI_ERROR(
      MPI_Igather(&my_size, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, comm_, &request));
  HVD_RETURN_IF_ERROR(wait_for_request(&request, "MPI_Igather"));
  std::vector<int> displacements;
  std::string buffer;
  if (rank_ == 0) {
    displacements.resize(size_);
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      displacements[r] = static_cast<int>(total);
      total += sizes[r];
      if (total > INT_MAX)
        return Status::error("gathered control messages exceed 2 GiB");
    }
    buffer.resize(static_cast<size_t>(total));
  }
  HVD_RETURN_IF_MPI_ERROR(MPI_Igatherv(mine.data(), my_size, MPI_BYTE, buffer.data(), sizes.data(),
                                       displacements.data(), MPI_BYTE, 0, comm_, &request));
  HVD_RETURN_IF_ERROR(wait_for_request(&request, "MPI_Igatherv"));
  all->clear();
  if (rank_ == 0) {
    for (int r = 0; r < size_; ++r)
      all->push_back(buffer.substr(displacements[r], sizes[r]));
  }
  return Status::ok();
}

Status MpiControlChannel::broadcast(std::string* bytes) {
  if (bytes->size() > static_cast<size_t>(INT_MAX)) {
    return Status::error("control message of " + std::to_string(bytes->size()) +
                         " bytes exceeds MPI's int count");
  }
  int length = static_cast<int>(bytes->size());
  MPI_Request request;
  HVD_RETURN_IF_MPI_ERROR(MPI_Ibcast(&length, 1, MPI_INT, 0, comm_, &request));
  HVD_RETURN_IF_ERROR(wait_for_request(&request, "MPI_Ibcast"));
  bytes->resize(static_cast<size_t>(length));
  HVD_RETURN_IF_MPI_ERROR(MPI_Ibcast(bytes->data(), length, MPI_BYTE, 0, comm_, &request));
  return wait_for_request(&request, "MPI_Ibcast");
}

Status MpiControlChannel::allreduce_and(std::vector<std::uint64_t>* words) {
  if (words->size() > static_cast<size_t>(INT_MAX))
    return Status::error("bit vector of " + std::to_string(words->size()) + " words is too long");
  MPI_Request request;
  HVD_RETURN_IF_MPI_ERROR(MPI_Iallreduce(MPI_IN_PLACE, words->data(),
                                         static_cast<int>(words->size()), MPI_UINT64_T, MPI_BAND,
                                         comm_, &request));
  return wait_for_request(&request, "MPI_Iallreduce");
}

}  // namespace hvd
