#include "collectives/mpi_request_wait.h"

#include <algorithm>
#include <thread>

#include "collectives/mpi_check.h"

namespace hvd {

Status wait_for_request(MPI_Request* request, const char* call, std::chrono::microseconds spin,
                        std::chrono::microseconds max_sleep) {
  using Clock = std::chrono::steady_clock;
  const auto spin_until = Clock::now() + spin;
  std::chrono::microseconds sleep(1);
  while (true) {
    int done = 0;
    const int rc = MPI_Test(request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
      return mpi_status(rc, call, __FILE__, __LINE__);
    if (done)
      return Status::ok();
    if (Clock::now() < spin_until)
      continue;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(sleep * 2, max_sleep);
  }
}

}  // namespace hvd
