#!/usr/bin/env bash
# Packs what the GPU machine lacks for scripts/gpu-test.sh into .gpu-deps/ (git-ignored): Debian's
# Open MPI 4.1 (relocated at run time with OPAL_PREFIX), GoogleTest, CLI11 and zlib's headers
# (the examples), unpacked from
# their .deb files, plus the shared libraries Open MPI needs beyond glibc and zlib. Run it
# here (it downloads with apt-get), then carry .gpu-deps to the GPU machine (about 35 MB).
#   bash scripts/gpu-bundle.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
out=$HVD_ROOT/.gpu-deps
packages=(openmpi-bin libopenmpi3 openmpi-common libopenmpi-dev libpmix2 libgtest-dev libcli11-dev
  zlib1g zlib1g-dev)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1) ||
  (apt-get update >/dev/null && cd "$work" && apt-get download "${packages[@]}" >/dev/null)
rm -rf "$out"
mkdir -p "$out/extra-lib"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$out"; done
# The plain names are Debian alternatives that dpkg would have made.
for tool in mpirun mpiexec mpicc mpicxx; do ln -sf "$tool.openmpi" "$out/usr/bin/$tool"; done
# Libraries the unpacked ELF files load from this machine, other than the ones every Linux has.
find "$out/usr" -type f \( -name '*.so*' -o -perm -u+x \) -print0 |
  { xargs -0 ldd 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
  grep -v -F "$out/" |
  grep -v -E '/(libc|libm|libz|libpthread|libdl|librt|libgcc_s|libstdc\+\+|ld-linux-x86-64)\.so' |
  grep -v -E '/(libmpi|libopen-|liboshmem|libpmix|libmca_common|libompitrace)' |
  while read -r lib; do cp -L "$lib" "$out/extra-lib/"; done
echo "gpu-bundle: $(du -sh "$out" | cut -f1) in $out; carry .gpu-deps to the GPU machine"
