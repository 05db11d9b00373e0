#include "collectives/mpi_environment.h"

#include <cstdio>

#include "collectives/mpi_check.h"

namespace hvd {
namespace {

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
      return "MPI_THREAD_MULTIPLE";
  }
  return "an unknown thread level";
}

}  // namespace

StatusOr<std::unique_ptr<MpiEnvironment>> MpiEnvironment::create() {
  int finalized = 0;
  HVD_RETURN_IF_MPI_ERROR(MPI_Finalized(&finalized));
  if (finalized) {
    return Status::error(
        "MPI has already been finalized in this process, so horovod_cpp cannot start; "
        "MPI can be initialized only once per process");
  }
  int initialized = 0;
  HVD_RETURN_IF_MPI_ERROR(MPI_Initialized(&initialized));
  bool owns = false;
  int level = MPI_THREAD_SINGLE;
  if (initialized) {
    HVD_RETURN_IF_MPI_ERROR(MPI_Query_thread(&level));
  } else {
    HVD_RETURN_IF_MPI_ERROR(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &level));
    owns = true;
  }
  std::unique_ptr<MpiEnvironment> env(new MpiEnvironment(owns, level));
  if (level < MPI_THREAD_SERIALIZED) {
    return Status::error(std::string("MPI provides only ") + thread_level_name(level) +
                         "; horovod_cpp needs at least MPI_THREAD_SERIALIZED because its "
                         "background thread calls MPI (initialize MPI with "
                         "MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...))");
  }
  return env;
}

MpiEnvironment::~MpiEnvironment() {
  if (!owns_mpi_)
    return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized)
    return;
  const int rc = MPI_Finalize();
  if (rc != MPI_SUCCESS)
    std::fprintf(stderr, "[hvd] WARNING: MPI_Finalize failed (%d)\n", rc);
}

}  // namespace hvd
