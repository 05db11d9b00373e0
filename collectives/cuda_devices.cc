#include "collectives/cuda_devices.h"

#include <cuda_runtime_api.h>

namespace hvd {

CudaDevices visible_cuda_devices() {
  CudaDevices devices;
  const cudaError_t rc = cudaGetDeviceCount(&devices.count);
  if (rc != cudaSuccess) {
    devices.count = 0;
    devices.why_none =
        std::string("cudaGetDeviceCount: ") + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc);
    cudaGetLastError();  // the error is reported here; do not leave it for the next call
  } else if (devices.count == 0) {
    devices.why_none = "cudaGetDeviceCount: no CUDA device is visible";
  }
  return devices;
}

}  // namespace hvd
