// Which CUDA devices this process can use. Asking never fails: a machine without a driver or
// a GPU (CI) has none, and the reason says which, so GPU tests can skip saying why.
#pragma once

#include <string>

namespace hvd {

struct CudaDevices {
  int count = 0;
  std::string why_none;  // set when count is 0: CUDA's own words
};

CudaDevices visible_cuda_devices();

}  // namespace hvd
