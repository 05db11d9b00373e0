#!/usr/bin/env bash
# Builds this checkout's HEAD (committed work only) against LibTorch 2.x (CPU) and Open MPI 5
# and runs its tests, inside a Debian chroot (trixie unless told) made with debootstrap: trixie's
# libtorch-dev (2.6) needs a newer glibc than this machine's Debian 12, so it cannot be
# installed here. CUDA and NCCL are bind-mounted from /usr/local/cuda, as CI has them.
# Not in .ci/run (the chroot, its packages, the build and the tests take ~20 min on 2 cores);
# scripts/check-libtorch2.sh, which is, compiles the CUDA-tensor branches against LibTorch 2.x
# with CUDA but links and runs nothing. Needs root.
#   bash scripts/test-libtorch2-chroot.sh [ctest args...]
# HVD_CHROOT_SUITE: the Debian suite (default trixie: LibTorch 2.6, C++17; unstable had 2.14,
# which needs C++20). HVD_CHROOT: where the chroot lives (default /work/chroots/<suite>; reused
# when present). HVD_CHROOT_PACKAGES: more packages; HVD_CHROOT_CMAKE_ARGS: more cmake arguments
# (CUDA 13.0 does not build on unstable, whose glibc's rsqrt clashes with CUDA's: add
# "-DHOROVOD_CPP_WITH_CUDA=OFF -DHOROVOD_CPP_WITH_NCCL=OFF" there).
set -euo pipefail
source "$(dirname "$0")/common.sh"
suite=${HVD_CHROOT_SUITE:-trixie}
root=${HVD_CHROOT:-/work/chroots/$suite}
mirror=${HVD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(build-essential cmake ninja-build pkg-config python3 libtorch-dev libopenmpi-dev
  openmpi-bin libcli11-dev libgtest-dev zlib1g-dev dataset-fashion-mnist iproute2)
read -ra more_packages <<<"${HVD_CHROOT_PACKAGES:-}"
packages+=("${more_packages[@]}")

if [[ ! -x $root/usr/bin/apt-get ]]; then
  command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror"
fi
mkdir -p "$root/usr/local/cuda"
for mount in proc sys dev dev/shm dev/pts usr/local/cuda; do
  mountpoint -q "$root/$mount" || mount --bind "/$mount" "$root/$mount"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The mirror's index of unstable was seen past its Valid-Until date (2026-12-03).
chroot "$root" bash -c "export DEBIAN_FRONTEND=noninteractive
  dpkg-query -W ${packages[*]} >/dev/null 2>&1 || {
    apt-get -o Acquire::Check-Valid-Until=false update -q &&
    apt-get install -y -q --no-install-recommends ${packages[*]}; }"

rm -rf "$root/root/hvd"
git clone -q "$HVD_ROOT" "$root/root/hvd"
echo "== LibTorch $(chroot "$root" dpkg-query -W -f='${Version}' libtorch-dev), $(chroot "$root" mpirun --version | head -1)"
# In a mount namespace of its own where the chroot's / is a mount point, so that `ip netns
# exec` (launcher.multihost_netns) can remount it.
unshare -m --propagation private bash -c "mount --rbind '$root' '$root' && chroot '$root' bash -c \
  'cd /root/hvd && source scripts/common.sh && HVD_JOBS=$HVD_JOBS &&
   hvd_build build -DCMAKE_BUILD_TYPE=Release ${HVD_CHROOT_CMAKE_ARGS:-} && cd build &&
   ctest --output-on-failure -j $HVD_JOBS $*'"
