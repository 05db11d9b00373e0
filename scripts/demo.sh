#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo on 2 ranks.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
bash scripts/install-deps.sh
echo "== build =="
hvd_build build -DCMAKE_BUILD_TYPE=Release -DHOROVOD_CPP_BUILD_TESTS=OFF
echo "== 2 ranks: allreduce real tensors of every dtype with every reduce op =="
"${HVD_MPIRUN[@]}" -np 2 build/examples/allreduce_check
