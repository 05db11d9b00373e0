#!/usr/bin/env bash
# Runs the allreduce benchmark on 2 ranks (or $NP) and writes out/bench-allreduce.csv.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
np=${NP:-2}
bash scripts/install-deps.sh
hvd_build build -DCMAKE_BUILD_TYPE=Release >/dev/null
mkdir -p out
"${HVD_MPIRUN[@]}" -np "$np" build/examples/allreduce_benchmark --csv out/bench-allreduce.csv "$@"
echo "wrote out/bench-allreduce.csv"
