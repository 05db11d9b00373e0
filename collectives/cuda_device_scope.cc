#include "collectives/cuda_device_scope.h"

#include <string>

#include "collectives/cuda_check.h"

namespace hvd {
namespace {

using CtxGetCurrent = CUresult (*)(CUcontext*);
using CtxSetCurrent = CUresult (*)(CUcontext);

struct DriverContextCalls {
  CtxGetCurrent get_current = nullptr;
  CtxSetCurrent set_current = nullptr;
};

void* driver_entry_point(const char* symbol) {
  void* function = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
  // Both calls have kept one signature since CUDA 4.0; 12.0's is the one this code knows.
  const cudaError_t rc =
      cudaGetDriverEntryPointByVersion(symbol, &function, 12000, cudaEnableDefault, &found);
#else
  const cudaError_t rc = cudaGetDriverEntryPoint(symbol, &function, cudaEnableDefault, &found);
#endif
  return rc == cudaSuccess && found == cudaDriverEntryPointSuccess ? function : nullptr;
}

// Looked up once: a process without a driver gets neither, and falls back.
const DriverContextCalls& driver_context_calls() {
  static const DriverContextCalls calls = [] {
    DriverContextCalls found;
    found.get_current = reinterpret_cast<CtxGetCurrent>(driver_entry_point("cuCtxGetCurrent"));
    found.set_current = reinterpret_cast<CtxSetCurrent>(driver_entry_point("cuCtxSetCurrent"));
    if (found.get_current == nullptr || found.set_current == nullptr)
      found = DriverContextCalls{};
    return found;
  }();
  return calls;
}

}  // namespace

CudaDeviceScope::CudaDeviceScope(int device) {
  const DriverContextCalls& driver = driver_context_calls();
  if (driver.get_current != nullptr && driver.get_current(&saved_context_) == CUDA_SUCCESS)
    exact_ = true;
  else if (cudaGetDevice(&saved_device_) != cudaSuccess)
    saved_device_ = -1;
  selected_ = cudaSetDevice(device);
}

CudaDeviceScope::~CudaDeviceScope() {
  (void)restore();  // a destructor has nobody to tell; restore() first where it matters
}

Status CudaDeviceScope::restore() {
  if (restored_)
    return Status::ok();
  restored_ = true;
  if (exact_) {
    const CUresult rc = driver_context_calls().set_current(saved_context_);
    if (rc != CUDA_SUCCESS) {
      return Status::error("cuCtxSetCurrent failed with CUresult " + std::to_string(rc) +
                           " putting back the thread's CUDA context");
    }
    return Status::ok();
  }
  return saved_device_ >= 0 ? HVD_CUDA_STATUS(cudaSetDevice(saved_device_)) : Status::ok();
}

}  // namespace hvd
