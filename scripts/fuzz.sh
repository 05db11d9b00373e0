#!/usr/bin/env bash
# Fuzzes the wire format between ranks (tests/fuzz: request/response lists through the
# coordinator, and a rank's cached negotiation rounds against forged peers) with libFuzzer,
# under ASan+UBSan, for a bounded time per target. Seeds come from tests/fuzz/corpus/<target>
# (kept small; never written by this script); new inputs go to a scratch corpus in the build
# directory. A crash leaves its input in build-fuzz/findings/ and fails the script.
#   bash scripts/fuzz.sh           # 60 s per target
#   bash scripts/fuzz.sh 10        # 10 s per target (what CI runs)
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$HVD_ROOT"
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [seconds per target]" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "clang++ missing: run scripts/install-deps.sh" >&2; exit 2; }

dir=build-fuzz
CXX=clang++ cmake -S tests/fuzz -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir.configure.log" 2>&1 || {
  cat "$dir.configure.log"
  exit 1
}
cmake --build "$dir" -j "$HVD_JOBS"
mkdir -p "$dir/findings"

status=0
for target in message_fuzzer negotiation_fuzzer; do
  scratch="$dir/corpus/$target"
  mkdir -p "$scratch"
  log="$dir/$target.log"
  echo "== $target: $seconds s =="
  if ! "$dir/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/findings/$target-" -print_final_stats=1 \
      "$scratch" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    status=1
    tail -n 40 "$log"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$target: ${runs:-?} executions, corpus $(ls "$scratch" | wc -l) inputs," \
       "findings $(ls "$dir/findings" | grep -c "^$target-" || true)"
done
exit $status
