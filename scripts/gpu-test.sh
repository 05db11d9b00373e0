#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds the GPU tests against this machine's PyTorch
# (LibTorch 2.x with CUDA) and runs them (ctest -L gpu). Without a GPU they build and skip.
#   bash scripts/gpu-test.sh [extra cmake args...]
# Needs python3 with torch, cmake, the CUDA toolkit (CUDAToolkit_ROOT, else /usr/local/cuda),
# and NCCL (the toolkit's, else PyTorch's nvidia-nccl wheel). Open MPI, GoogleTest and CLI11
# come from the system if mpirun is there, else from .gpu-deps/ (scripts/gpu-bundle.sh makes it
# on a Debian machine; carry it over): Open MPI is then relocated with OPAL_PREFIX.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
build=${HVD_GPU_BUILD:-build-gpu}
deps=${HVD_GPU_DEPS:-$HVD_ROOT/.gpu-deps}
# HVD_TORCH_PREFIX: another LibTorch; HVD_GPU_USE_BUNDLE=1: the bundle even if mpirun exists.
prefixes=${HVD_TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
args=(-DCMAKE_BUILD_TYPE=Release -DHOROVOD_CPP_BUILD_EXAMPLES=OFF)

if [[ ${HVD_GPU_USE_BUNDLE:-0} == 1 ]] || ! command -v mpirun >/dev/null; then
  [[ -x $deps/usr/bin/mpirun ]] || {
    echo "gpu-test: no mpirun here and no bundle at $deps (run scripts/gpu-bundle.sh and carry it)"
    exit 1
  }
  export OPAL_PREFIX=$deps/usr
  export PATH=$deps/usr/bin:$PATH
  export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu/openmpi/lib:$deps/usr/lib/x86_64-linux-gnu:$deps/extra-lib:${LD_LIBRARY_PATH:-}
  prefixes="$prefixes;$deps/usr"
  args+=(-DMPI_C_COMPILER="$deps/usr/bin/mpicc.openmpi" -DMPI_CXX_COMPILER="$deps/usr/bin/mpicxx.openmpi")
fi
# NCCL from PyTorch's wheel when the toolkit has none (the wheel ships only libnccl.so.2).
if [[ ! -e ${CUDAToolkit_ROOT:-/usr/local/cuda}/include/nccl.h ]]; then
  nccl=$(python3 -c 'import nvidia.nccl, os; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
  if [[ -n $nccl && -e $nccl/include/nccl.h ]]; then
    args+=(-DHOROVOD_CPP_NCCL_INCLUDE_DIR="$nccl/include"
      -DHOROVOD_CPP_NCCL_LIBRARY="$(ls "$nccl"/lib/libnccl.so* | head -1)")
    export LD_LIBRARY_PATH=$nccl/lib:${LD_LIBRARY_PATH:-}
  fi
fi
# Shared memory between ranks without cross-process memory attach (sandboxed kernels lack it).
args+=("-DHOROVOD_CPP_MPIEXEC_FLAGS=--allow-run-as-root;--oversubscribe;--bind-to;none;--mca;btl_vader_single_copy_mechanism;none")

echo "== configure $build (torch: $prefixes)"
cmake -S . -B "$build" -DCMAKE_PREFIX_PATH="$prefixes" "${args[@]}" "$@"
grep -q "HOROVOD_CPP_WITH_NCCL:BOOL=ON" "$build/CMakeCache.txt" || {
  echo "gpu-test: NCCL was not found; nothing GPU-side to test"
  exit 1
}
echo "== build"
cmake --build "$build" -j "$(nproc)" --target nccl_communicator_test cuda_device_plane_test torch_cuda_test
echo "== GPU tests"
nvidia-smi -L 2>/dev/null || true
(cd "$build" && ctest -L gpu --output-on-failure)
