#!/usr/bin/env bash
# The core and the collectives never include LibTorch (Debian puts ATen/, c10/ and torch/ on
# the default include path, so the compiler alone would not catch it).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
if grep -rnE '#include *[<"](torch|ATen|c10|caffe2)/' horovod_cpp collectives; then
  echo "check-layering: the lines above include LibTorch from the framework-free core" >&2
  exit 1
fi
echo "check-layering: core and collectives are free of LibTorch headers"
