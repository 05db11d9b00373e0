// CUDA runtime and NCCL failures as Status: the call, the library's error name and text, and
// where. Only compiled when the GPU data plane is (HOROVOD_CPP_WITH_CUDA).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "horovod_cpp/status.h"

namespace hvd {

inline Status cuda_status(cudaError_t rc, const char* call, const char* file, int line) {
  if (rc == cudaSuccess)
    return Status::ok();
  return Status::error(std::string(call) + " failed: " + cudaGetErrorName(rc) + ": " +
                       cudaGetErrorString(rc) + " (" + file + ":" + std::to_string(line) + ")");
}

}  // namespace hvd

#define HVD_CUDA_STATUS(call) ::hvd::cuda_status((call), #call, __FILE__, __LINE__)
#define HVD_RETURN_IF_CUDA_ERROR(call) HVD_RETURN_IF_ERROR(HVD_CUDA_STATUS(call))
