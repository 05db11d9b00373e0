#!/usr/bin/env bash
# Packs what the GPU machine lacks for scripts/gpu-test.sh into .gpu-deps/ (git-ignored): Debian's
# Open MPI 4.1 (relocated at run time with OPAL_PREFIX), GoogleTest, CLI11 and zlib's headers
# (the examples), unpacked from their .deb files, plus the shared libraries Open MPI needs
# beyond glibc and zlib. Run it here (it downloads with apt-get), then carry .gpu-deps to the
# GPU machine (about 35 MB). .gpu-deps/needs-glibc names the oldest glibc it runs on.
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
# The GPU machine's glibc may be older than Debian 12's 2.36 (Ubuntu 22.04 has 2.35). Of all the
# above, only libevent asks for 2.36 (arc4random); Debian 11's build of the same libevent
# version asks for less, so it replaces ours where the archive still has it.
old_libevent=(libevent-core-2.1-7 libevent-pthreads-2.1-7)
old_found=0
for package in "${old_libevent[@]}"; do
  # One folder for both: the second package reuses the first one's index.
  hvd_debian_package bullseye main "$package" "$work/bullseye" || break
  cp -L "$work/bullseye"/root/usr/lib/x86_64-linux-gnu/libevent_*-2.1.so.7 "$out/extra-lib/"
  old_found=$((old_found + 1))
done
if ((old_found < ${#old_libevent[@]})); then
  echo "gpu-bundle: no Debian 11 libevent; the bundle needs glibc 2.36"
fi
# The newest glibc symbol version anything in the bundle asks for: the GPU machine needs it.
glibc=$({ find "$out" -type f \( -name '*.so*' -o -perm -u+x \) -exec objdump -T {} + 2>/dev/null ||
  true; } | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "$glibc" >"$out/needs-glibc"
echo "gpu-bundle: $(du -sh "$out" | cut -f1) in $out, needing $glibc or newer; carry .gpu-deps to the GPU machine"
