#include "collectives/mpi_broadcast.h"

#include <algorithm>
#include <climits>

#include "collectives/mpi_check.h"

namespace hvd {

Status mpi_broadcast(void* buffer, std::int64_t bytes, int root, MPI_Comm comm) {
  for (std::int64_t done = 0; done < bytes;) {
    const std::int64_t chunk = std::min<std::int64_t>(bytes - done, INT_MAX);
    HVD_RETURN_IF_MPI_ERROR(MPI_Bcast(static_cast<char*>(buffer) + done, static_cast<int>(chunk),
                                      MPI_BYTE, root, comm));
    done += chunk;
  }
  return Status::ok();
}

}  // namespace hvd
