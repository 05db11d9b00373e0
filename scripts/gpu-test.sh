#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, in one go (device time is scarce): builds the GPU tests and
# benchmarks against this machine's PyTorch (LibTorch 2.x with CUDA), runs the GPU tests
# (ctest -L gpu), the GPU benchmarks, then compute-sanitizer's memcheck on the GPU tests (last:
# the slowest, and it may not run in a sandbox). Without a GPU they build and skip. Six files
# (gpu-test.log, gpu-tests.log, bench.log, gpu.csv, training.csv, memcheck.log) go to
# $HVD_GPU_OUT (default $OUT, else build-gpu/gpu-results). Each step runs even if an earlier
# one failed, within its own time limit (HVD_GPU_STEP_LIMIT seconds, default 120; the GPU tests
# HVD_GPU_TESTS_LIMIT, default 240) and what is left of the script's (HVD_GPU_TOTAL_LIMIT,
# default 480, build included: a lent GPU call may run 600 s); the exit status says whether any
# step failed or was left out.
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
args=(-DCMAKE_BUILD_TYPE=Release)

if [[ ${HVD_GPU_USE_BUNDLE:-0} == 1 ]] || ! command -v mpirun >/dev/null; then
  [[ -x $deps/usr/bin/mpirun ]] || {
    echo "gpu-test: no mpirun here and no bundle at $deps (run scripts/gpu-bundle.sh and carry it)"
    exit 1
  }
  need=$(sed 's/^GLIBC_//' "$deps/needs-glibc" 2>/dev/null || true)
  have=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
  if [[ -n $need && $(printf '%s\n' "$need" "$have" | sort -V | head -1) != "$need" ]]; then
    echo "gpu-test: the bundle in $deps needs glibc $need; this machine has $have"
    exit 1
  fi
  echo "== Open MPI from $deps (needs glibc ${need:-?}; this machine has $have)"
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

results=${HVD_GPU_OUT:-${OUT:-$build/gpu-results}}
mkdir -p "$results"
# The device machine hands back at most 8 files: all goes into six (this one, the whole run).
: >"$results/gpu-test.log"
exec > >(tee -a "$results/gpu-test.log") 2>&1
echo "== configure $build (torch: $prefixes)"
cmake -S . -B "$build" -DCMAKE_PREFIX_PATH="$prefixes" "${args[@]}" "$@"
grep -q "HOROVOD_CPP_WITH_NCCL:BOOL=ON" "$build/CMakeCache.txt" || {
  echo "gpu-test: NCCL was not found; nothing GPU-side to test"
  exit 1
}
failed=()
step_limit=${HVD_GPU_STEP_LIMIT:-120}
total_limit=${HVD_GPU_TOTAL_LIMIT:-480}
# step <name> <log> <command...>: runs it for at most $step_limit s and what is left of
# $total_limit, appends to $results/<log>.log, and remembers a failure (a timeout says so: a
# hang must not take the session's device time). A step with under 15 s left is left out.
step() {
  local name=$1 log=$2 rc=0 limit=$step_limit left=$((total_limit - SECONDS))
  shift 2
  if ((left < 15)); then
    echo "== $name: left out, ${left} s of the script's ${total_limit} s remain"
    failed+=("$name(no-time)")
    return
  fi
  ((left < limit)) && limit=$left
  echo "== $name [${SECONDS}s, up to ${limit}s]" | tee -a "$results/$log.log"
  timeout --kill-after=10 "$limit" "$@" > >(tee -a "$results/$log.log") 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then
    echo "== $name: ok"
  else
    [[ $rc == 124 || $rc == 137 ]] && echo "== $name: still running after ${limit} s, stopped"
    echo "== $name: FAILED (exit $rc)"
    failed+=("$name")
  fi
}
targets=(nccl_communicator_test cuda_device_plane_test torch_cuda_test synthetic_benchmark)
if grep -q "HOROVOD_CPP_TORCH_CUDA_PLANE_BUILT:INTERNAL=ON" "$build/CMakeCache.txt"; then
  targets+=(gpu_benchmark)
elif [[ ${HVD_GPU_ALLOW_CPU_TORCH:-0} != 1 ]]; then
  echo "gpu-test: this LibTorch has no CUDA, so CUDA tensors cannot reach the GPU data plane"
  echo "  (HVD_GPU_ALLOW_CPU_TORCH=1 goes on without it: a dry run of this script)"
  exit 1
fi
echo "== build"
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
nvidia-smi -L 2>/dev/null || true
# One NCCL and one CUDA runtime should load: ours must be the ones LibTorch uses.
echo "== libraries of torch_cuda_test"
ldd "$build/tests/torch_cuda_test" | grep -E "nccl|cudart|torch_cuda|c10_cuda" || true
# Six tests, each stopped by ctest after 150 s.
step_limit=${HVD_GPU_TESTS_LIMIT:-240} step gpu-tests gpu-tests \
  bash -c "cd '$build' && ctest -L gpu --output-on-failure"
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none
  --mca btl_vader_single_copy_mechanism none)
if [[ -x $build/examples/gpu_benchmark ]]; then
  step bench-plane bench "${mpirun[@]}" -np 1 "$build/examples/gpu_benchmark" --csv "$results/gpu.csv"
fi
step bench-training-nccl bench "${mpirun[@]}" -np 1 "$build/examples/synthetic_benchmark" \
  --device cuda --batch-size 128 --csv "$results/training.csv"
step bench-training-staged bench "${mpirun[@]}" -np 2 -x HOROVOD_GPU_OPERATIONS=MPI \
  "$build/examples/synthetic_benchmark" --device cuda --batch-size 128 --csv "$results/training.csv"
sanitizer=$(command -v compute-sanitizer || echo "${CUDAToolkit_ROOT:-/usr/local/cuda}/bin/compute-sanitizer")
if [[ -x $sanitizer ]]; then
  # Memory errors only: the tests make failing CUDA calls on purpose (a device beyond the
  # visible ones), which the sanitizer would otherwise count as errors too.
  memcheck=("$sanitizer" --tool memcheck --report-api-errors no --error-exitcode 1)
  step memcheck-plane memcheck "${mpirun[@]}" -np 1 "${memcheck[@]}" \
    "$build/tests/cuda_device_plane_test"
  step memcheck-torch memcheck "${mpirun[@]}" -np 1 "${memcheck[@]}" "$build/tests/torch_cuda_test"
else
  echo "== memcheck: no compute-sanitizer at $sanitizer"
  failed+=(memcheck-missing)
fi
echo "gpu-test: results in $results; failed: ${failed[*]:-none}"
[[ ${#failed[@]} -eq 0 ]]
