#!/usr/bin/env bash
# Compiles, without linking or running, the translation units that include LibTorch against two
# LibTorch 2.x header sets from Debian, unpacked into build-libtorch2/ (no install: their
# libraries need a newer glibc than ours):
#   cuda:   trixie's libtorch-cuda-dev (2.6), a CUDA build of LibTorch;
#   newest: unstable's libtorch-dev (2.14 when written), a CPU build that ships c10's CUDA headers.
# GPU machines have a PyTorch between the two (2.11). Each time the project is configured as a
# GPU machine with PyTorch configures it (a headers-only stand-in for TorchConfig.cmake, the
# CUDA-tensor branches on). Debian's LibTorch 1.13 builds and tests everything else; this keeps
# the 2.x build from rotting between GPU sessions. A download that fails is reported and
# skipped, unless HVD_REQUIRE_LIBTORCH2=1.
#   bash scripts/check-libtorch2.sh        # newest: what gpu-test.sh builds;
#                                          # cuda: the files that use LibTorch's CUDA API
#   bash scripts/check-libtorch2.sh --all  # both: every translation unit that sees LibTorch
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
work=${HVD_LIBTORCH2_DIR:-$HVD_ROOT/build-libtorch2}
scope=${1:-}
failed=()

# objects <build> <all|gpu-run|cuda>: the object files whose sources reach a LibTorch header,
# and the GPU data plane's; gpu-run: only those gpu-test.sh builds; cuda: only
# those that reach LibTorch's CUDA API.
objects() {
  python3 - "$1/compile_commands.json" "$2" <<'EOF'
import json, os, re, sys
commands, scope = json.load(open(sys.argv[1])), sys.argv[2]
gpu_run = ("frameworks/torch/", "tests/gpu/", "examples/gpu_benchmark.cc",
           "examples/synthetic_benchmark.cc")
include = re.compile(r'#include [<"]([^>"]+)[>"]')
wanted = (re.compile(r"(c10|ATen)/cuda/|torch/cuda\.h") if scope == "cuda"
          else re.compile(r"(torch|ATen|c10)/"))
reaches = {}
def reaches_wanted(path, roots):
    if path not in reaches:
        reaches[path] = False
        for name in include.findall(open(path, errors="replace").read()):
            if wanted.match(name):
                reaches[path] = True
                break
            for root in [os.path.dirname(path)] + roots:
                candidate = os.path.normpath(os.path.join(root, name))
                if os.path.isfile(candidate) and reaches_wanted(candidate, roots):
                    reaches[path] = True
                    break
            if reaches[path]:
                break
    return reaches[path]
for entry in commands:
    source = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    roots = re.findall(r"-I(\S+)", entry["command"])
    relative = os.path.relpath(source, os.getcwd())
    # The GPU data plane's own files include no LibTorch, but take its C++ standard.
    gpu_plane = scope != "cuda" and relative.startswith(("collectives/cuda_", "collectives/nccl_"))
    if gpu_plane or ((scope != "gpu-run" or relative.startswith(gpu_run))
                     and reaches_wanted(source, roots)):
        print(re.search(r" -o (\S+)", entry["command"]).group(1))
EOF
}

# check <name> <suite> <component> <package> <scope>
check() {
  local name=$1 suite=$2 component=$3 package=$4 scope=$5
  local dir=$work/$name
  local headers=$dir/root/usr/include
  mkdir -p "$dir"
  if [[ ! -e $headers/torch/csrc/api/include/torch/torch.h ]] &&
    ! hvd_debian_package "$suite" "$component" "$package" "$dir"; then
    echo "check-libtorch2: $name: SKIPPED: could not download $package ($suite)"
    [[ ${HVD_REQUIRE_LIBTORCH2:-0} != 1 ]] || failed+=("$name (download)")
    return
  fi
  # A CPU build leaves out the one header a CUDA build of c10 generates.
  local extra=
  if [[ ! -e $headers/c10/cuda/impl/cuda_cmake_macros.h ]]; then
    extra=$HVD_ROOT/cmake/c10_cuda_stand_in
  fi
  # A headers-only stand-in for TorchConfig.cmake: what CMakeLists.txt reads of a CUDA LibTorch.
  mkdir -p "$dir/torch-config"
  cat >"$dir/torch-config/TorchConfig.cmake" <<EOF
set(TORCH_INCLUDE_DIRS "$headers" "$headers/torch/csrc/api/include" "$extra")
set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")
if(NOT TARGET torch)
  add_library(torch INTERFACE IMPORTED)
  set_target_properties(torch PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "\${TORCH_INCLUDE_DIRS}"
    INTERFACE_COMPILE_OPTIONS "\${TORCH_CXX_FLAGS}")
endif()
find_package(CUDAToolkit REQUIRED)
set(TORCH_LIBRARIES torch)
set(TORCH_CUDA_LIBRARIES CUDA::cudart)
set(Torch_FOUND TRUE)
EOF
  local build=$dir/build
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DTorch_DIR="$dir/torch-config" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    failed+=("$name (configure)")
    return
  fi
  if ! grep -q "HOROVOD_CPP_TORCH_CUDA_PLANE_BUILT:INTERNAL=ON" "$build/CMakeCache.txt"; then
    echo "check-libtorch2: $name: the configure did not turn the CUDA plane on"
    failed+=("$name (configure)")
    return
  fi
  local targets
  mapfile -t targets < <(objects "$build" "$scope")
  if [[ ${#targets[@]} -eq 0 ]]; then
    echo "check-libtorch2: $name: found no translation unit that includes LibTorch"
    failed+=("$name (nothing to compile)")
    return
  fi
  echo "check-libtorch2: $name: compiling ${#targets[@]} translation units against" \
    "$(cat "$dir/package" 2>/dev/null || echo "$headers")"
  if ninja -C "$build" -k 0 -j "$HVD_JOBS" "${targets[@]}"; then
    echo "check-libtorch2: $name: all ${#targets[@]} compiled"
  else
    failed+=("$name")
  fi
}

if [[ $scope == --all ]]; then
  check newest sid main libtorch-dev all
  check cuda trixie contrib libtorch-cuda-dev all
else
  check newest sid main libtorch-dev gpu-run
  check cuda trixie contrib libtorch-cuda-dev cuda
fi
[[ ${#failed[@]} -eq 0 ]] || {
  echo "check-libtorch2: FAILED: ${failed[*]}"
  exit 1
}
