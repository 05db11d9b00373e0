// Completing a nonblocking MPI request without holding a core. Open MPI's blocking calls
// busy-poll; our background thread waits in negotiation for ranks that are still computing,
// and polling there would take the core from the training thread beside it.
#pragma once

#include <chrono>

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

// Spins on MPI_Test for `spin` (peers that are already there answer within it), then sleeps
// between tests, doubling the sleep up to `max_sleep`. `call` names the operation in errors.
Status wait_for_request(MPI_Request* request, const char* call,
                        std::chrono::microseconds spin = std::chrono::microseconds(50),
                        std::chrono::microseconds max_sleep = std::chrono::microseconds(200));

}  // namespace hvd
