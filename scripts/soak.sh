#!/usr/bin/env bash
# Soak: 20,000 iterations (or --iterations N) of mixed collectives on 2 ranks (or $NP); prints
# RSS at start/halfway/end and fails on wrong results, leftover ops or handles, or RSS growth
# above 32 MiB (override with --max-rss-growth-mib).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
np=${NP:-2}
bash scripts/install-deps.sh
hvd_build build -DCMAKE_BUILD_TYPE=Release >/dev/null
"${HVD_MPIRUN[@]}" -np "$np" build/examples/soak --max-rss-growth-mib 32 "$@"
