#!/usr/bin/env bash
# Runs the steady-state benchmark (ResNet-50 gradient set; response cache on/off vs raw MPI)
# on 2 ranks (or $NP) and writes out/bench-steady-state.csv.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
np=${NP:-2}
bash scripts/install-deps.sh
hvd_build build -DCMAKE_BUILD_TYPE=Release >/dev/null
mkdir -p out
"${HVD_MPIRUN[@]}" -np "$np" build/examples/steady_state_benchmark --csv out/bench-steady-state.csv "$@"
echo "wrote out/bench-steady-state.csv"
