// The public core API: thin wrappers that turn Status into hvd::Error.
#include "horovod_cpp/horovod.h"

#include "horovod_cpp/global_state.h"

namespace hvd {
namespace {

void throw_if_error(const Status& status) {
  if (!status.is_ok())
    throw Error(status.message());
}

std::shared_ptr<Runtime> live_runtime(const char* caller) {
  StatusOr<std::shared_ptr<Runtime>> runtime = current_runtime(caller);
  throw_if_error(runtime.status());
  return runtime.value();
}

}  // namespace

void init() {
  throw_if_error(initialize_runtime());
}
void shutdown() {
  shutdown_runtime();
}
bool is_initialized() {
  return runtime_is_live();
}

int rank() {
  return live_runtime("hvd::rank()")->topology().rank;
}
int size() {
  return live_runtime("hvd::size()")->topology().size;
}
int local_rank() {
  return live_runtime("hvd::local_rank()")->topology().local_rank;
}
int local_size() {
  return live_runtime("hvd::local_size()")->topology().local_size;
}
int cross_rank() {
  return live_runtime("hvd::cross_rank()")->topology().cross_rank;
}
int cross_size() {
  return live_runtime("hvd::cross_size()")->topology().cross_size;
}

bool mpi_built() {
  return true;
}
// Whether CUDA tensors run on the GPU data plane (CUDA + NCCL): only where LibTorch has CUDA
// too (HOROVOD_CPP_TORCH_CUDA_PLANE in CMakeLists.txt). Elsewhere the NCCL communicator may be
// compiled, but no CUDA tensor can reach it, so "built" would promise what a user cannot use.
#ifndef HVD_CUDA_PLANE_BUILT
#define HVD_CUDA_PLANE_BUILT 0
#endif
bool nccl_built() {
  return HVD_CUDA_PLANE_BUILT != 0;
}
bool cuda_built() {
  return HVD_CUDA_PLANE_BUILT != 0;
}

void start_timeline(const std::string& path, bool mark_cycles) {
  throw_if_error(live_runtime("hvd::start_timeline()")
                     ->start_timeline(path, mark_cycles)
                     .with_context("hvd::start_timeline()"));
}

void stop_timeline() {
  live_runtime("hvd::stop_timeline()")->stop_timeline();
}

Stats stats() {
  return live_runtime("hvd::stats()")->stats();
}

}  // namespace hvd
