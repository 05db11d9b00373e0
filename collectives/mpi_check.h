// Turns a failed MPI call into a Status naming the call, MPI's error string and file:line.
// Our communicators use MPI_ERRORS_RETURN, so failures come back here instead of aborting.
#pragma once

#include <string>

#include <mpi.h>

#include "horovod_cpp/status.h"

namespace hvd {

inline Status mpi_status(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS)
    return Status::ok();
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS)
    length = 0;
  return Status::error(std::string(call) + " failed: " + std::string(text, length) + " (" + file +
                       ":" + std::to_string(line) + ")");
}

}  // namespace hvd

#define HVD_MPI_STATUS(call) ::hvd::mpi_status((call), #call, __FILE__, __LINE__)
#define HVD_RETURN_IF_MPI_ERROR(call) HVD_RETURN_IF_ERROR(HVD_MPI_STATUS(call))
