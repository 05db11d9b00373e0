// Stands in for the one header a CUDA build of c10 generates, which CPU builds of LibTorch that
// ship c10's CUDA headers (Debian's) leave out. Only on the include path where that header is
// missing: CMakeLists.txt's compile check of the CUDA branches, and scripts/check-libtorch2.sh.
#pragma once
#define C10_CUDA_BUILD_SHARED_LIBS
