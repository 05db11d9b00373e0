#!/usr/bin/env bash
# Installs what horovod_cpp needs on a Debian 12 machine. Idempotent: when every
# package is already present it only checks (a few seconds) and touches no network.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libopenmpi-dev openmpi-bin
  libtorch-dev
  libcli11-dev
  libgtest-dev
  zlib1g-dev
  dataset-fashion-mnist
  clang-format
  clang libclang-rt-14-dev
  gnuplot-nox
  iproute2
  curl xz-utils
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
