#!/usr/bin/env bash
# Compiles, without linking or running, the translation units that include LibTorch against
# LibTorch 2.x with CUDA: Debian trixie's libtorch-cuda-dev headers (2.6), unpacked into
# build-libtorch2/ (no install; trixie's libraries need a newer glibc than ours). The project is
# configured as a GPU machine with PyTorch configures it, so the CUDA-plane branches compile
# too. Debian's LibTorch 1.13 builds everything else; this keeps the 2.x build from rotting
# between GPU sessions. A download that fails is reported and skipped, unless
# HVD_REQUIRE_LIBTORCH2=1.
#   bash scripts/check-libtorch2.sh          # what the GPU machine builds, and the examples
#   bash scripts/check-libtorch2.sh --all    # every translation unit that sees LibTorch
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
work=${HVD_LIBTORCH2_DIR:-$HVD_ROOT/build-libtorch2}
mirror=${HVD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
headers=$work/root/usr/include
mkdir -p "$work"

fetch_headers() {
  local index=$work/Packages.contrib path
  curl -fsS --max-time 120 "$mirror/dists/trixie/contrib/binary-amd64/Packages.xz" |
    xz -d >"$index" || return 1
  path=$(awk '$0 == "Package: libtorch-cuda-dev" {found = 1}
              found && /^Filename:/ {print $2; exit}' "$index")
  [[ -n $path ]] || {
    echo "check-libtorch2: trixie contrib lists no libtorch-cuda-dev"
    return 1
  }
  curl -fsS --max-time 300 -o "$work/libtorch-cuda-dev.deb" "$mirror/$path" || return 1
  rm -rf "$work/root"
  dpkg-deb -x "$work/libtorch-cuda-dev.deb" "$work/root"
  basename "$path" >"$work/package"
}
if [[ ! -e $headers/torch/csrc/api/include/torch/torch.h ]] && ! fetch_headers; then
  echo "check-libtorch2: SKIPPED: could not download libtorch-cuda-dev from $mirror"
  [[ ${HVD_REQUIRE_LIBTORCH2:-0} != 1 ]]
  exit
fi

# A headers-only stand-in for TorchConfig.cmake: what CMakeLists.txt reads of a CUDA LibTorch.
mkdir -p "$work/torch-config"
cat >"$work/torch-config/TorchConfig.cmake" <<EOF
set(TORCH_INCLUDE_DIRS "$headers" "$headers/torch/csrc/api/include")
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
build=$work/build
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DTorch_DIR="$work/torch-config" >"$work/configure.log" 2>&1 || {
  cat "$work/configure.log"
  exit 1
}
grep -q "HOROVOD_CPP_TORCH_CUDA_PLANE_BUILT:INTERNAL=ON" "$build/CMakeCache.txt" || {
  echo "check-libtorch2: the configure did not turn the CUDA plane on"
  exit 1
}

# The object files to build: those whose sources reach a LibTorch header.
mapfile -t objects < <(python3 - "$build/compile_commands.json" "${1:-}" <<'EOF'
import json, os, re, sys
commands = json.load(open(sys.argv[1]))
everything = sys.argv[2] == "--all"
gpu_run = ("frameworks/torch/", "tests/gpu/", "examples/")
include = re.compile(r'#include [<"]([^>"]+)[>"]')
sees_torch = {}
def reaches_torch(path, roots):
    if path in sees_torch:
        return sees_torch[path]
    sees_torch[path] = False
    text = open(path, errors="replace").read()
    for name in include.findall(text):
        if name.split("/")[0] in ("torch", "ATen", "c10"):
            sees_torch[path] = True
            break
        for root in [os.path.dirname(path)] + roots:
            candidate = os.path.normpath(os.path.join(root, name))
            if os.path.isfile(candidate) and reaches_torch(candidate, roots):
                sees_torch[path] = True
                break
        if sees_torch[path]:
            break
    return sees_torch[path]
for entry in commands:
    source = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    roots = re.findall(r"-I(\S+)", entry["command"])
    relative = os.path.relpath(source, os.getcwd())
    if (everything or relative.startswith(gpu_run)) and reaches_torch(source, roots):
        print(re.search(r" -o (\S+)", entry["command"]).group(1))
EOF
)
[[ ${#objects[@]} -gt 0 ]] || {
  echo "check-libtorch2: found no translation unit that includes LibTorch"
  exit 1
}
echo "check-libtorch2: compiling ${#objects[@]} translation units against $(cat "$work/package" 2>/dev/null || echo "$headers")"
ninja -C "$build" -k 0 -j "$HVD_JOBS" "${objects[@]}"
echo "check-libtorch2: all ${#objects[@]} compiled against LibTorch 2.x with CUDA"
