#!/usr/bin/env bash
# Builds the library and tests with sanitizers and runs the unit and multi-rank tests.
#   bash scripts/test-sanitizers.sh address,undefined   (run by scripts/test.sh)
#   bash scripts/test-sanitizers.sh thread              (TSan; see docs/DESIGN.md for status)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
sanitizers=${1:-address,undefined}
dir=build-${sanitizers//,/-}

echo "== build ($sanitizers) =="
hvd_build "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOROVOD_CPP_SANITIZE="$sanitizers" \
  -DHOROVOD_CPP_BUILD_EXAMPLES=OFF

supp="$HVD_ROOT/tests/sanitizers"
# Open MPI and LibTorch are not built with sanitizers; their one-time allocations at init
# are reported as leaks that are not ours (suppressions name only those libraries).
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
echo "== ctest ($sanitizers) =="
(cd "$dir" && ctest --output-on-failure -j "$HVD_JOBS")
