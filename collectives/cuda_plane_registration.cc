// Linked into libhorovod_cpp.so only where CUDA tensors can reach the GPU data plane
// (HOROVOD_CPP_WITH_NCCL and a LibTorch with CUDA): makes the CUDA + NCCL plane the runtime's.
// A test that sets its own factory afterwards (a simulated device) replaces it.
#include "collectives/cuda_device_plane.h"

namespace hvd {
namespace {

const bool kRegistered = [] {
  set_device_plane_factory(&CudaDevicePlane::create);
  return true;
}();

}  // namespace
}  // namespace hvd
