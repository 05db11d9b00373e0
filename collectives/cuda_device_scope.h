// CUDA work on a given device from a thread the runtime does not own (a user's thread, or
// whichever thread drops the last reference to an event), leaving that thread's CUDA state as
// it was found. Only compiled with HOROVOD_CPP_WITH_CUDA.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "horovod_cpp/status.h"

namespace hvd {

// Selects `device` for the scope's lifetime, then puts back the driver context that was current
// on this thread before, "none" included. (The runtime's own record of the thread's device may
// then say `device`: a later runtime call there binds `device`'s context, which exists, where
// the thread's would otherwise have bound GPU 0's.) Why not cudaGetDevice/cudaSetDevice: on a
// thread that never selected a device, cudaGetDevice says 0, and setting 0 back would make a
// context on GPU 0 (CUDA 12 and later make it at cudaSetDevice). On a node of several GPUs
// every rank would then hold memory on a GPU that is not its own, the cost Horovod users know.
// The driver's context calls are looked up through the runtime (cudaGetDriverEntryPoint),
// so nothing links libcuda; where the lookup fails, the device number is put back instead.
class CudaDeviceScope {
 public:
  explicit CudaDeviceScope(int device);
  ~CudaDeviceScope();
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

  // What selecting the device returned: work in the scope runs on `device` only if cudaSuccess.
  cudaError_t selected() const { return selected_; }
  // Puts the thread's context back; the destructor does it if this was not called.
  Status restore();

 private:
  bool restored_ = false;
  bool exact_ = false;  // saved_context_ holds what was current (possibly none)
  CUcontext saved_context_ = nullptr;
  int saved_device_ = -1;  // otherwise, the device number cudaGetDevice reported
  cudaError_t selected_ = cudaSuccess;
};

}  // namespace hvd
