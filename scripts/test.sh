#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, multi-rank (mpirun, 2-4
# ranks), the installed-package check, then the same suite under ASan+UBSan, and a short
# fuzz run of the wire format (10 s per target).
#   bash scripts/test.sh            # everything
#   HVD_SKIP_SANITIZERS=1 bash scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"

bash scripts/install-deps.sh
bash scripts/check-layering.sh
bash scripts/check-format.sh

echo "== build (Release) =="
hvd_build build -DCMAKE_BUILD_TYPE=Release
echo "== ctest (Release) =="
(cd build && ctest --output-on-failure -j "$HVD_JOBS")

if [[ "${HVD_SKIP_SANITIZERS:-0}" != 1 ]]; then
  bash scripts/test-sanitizers.sh address,undefined
  bash scripts/fuzz.sh 10
fi
