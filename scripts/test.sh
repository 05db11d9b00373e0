#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, multi-rank (mpirun, 2-4
# ranks), the installed-package check, a compile of the LibTorch code against LibTorch 2.x with
# CUDA (scripts/check-libtorch2.sh), then the same suite under ASan+UBSan, and a short fuzz run
# of the wire format (10 s per target).
#   bash scripts/test.sh            # everything
#   HVD_SKIP_SANITIZERS=1 bash scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"

bash scripts/install-deps.sh
bash scripts/check-layering.sh
bash scripts/check-format.sh

echo "== build (Release) [${SECONDS}s] =="
hvd_build build -DCMAKE_BUILD_TYPE=Release
echo "== ctest (Release) [${SECONDS}s] =="
(cd build && ctest --output-on-failure -j "$HVD_JOBS")
echo "== LibTorch 2.x compile check [${SECONDS}s] =="
bash scripts/check-libtorch2.sh

if [[ "${HVD_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== sanitizers [${SECONDS}s] =="
  bash scripts/test-sanitizers.sh address,undefined
  echo "== fuzz [${SECONDS}s] =="
  bash scripts/fuzz.sh 10
fi
echo "== test.sh done in ${SECONDS}s =="
