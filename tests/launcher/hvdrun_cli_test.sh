#!/usr/bin/env bash
# hvdrun end to end on this machine: a real launch with tagged output, the errors users hit
# (each: exit status 2 and a message naming the problem), the exit status of a failing rank,
# and SIGTERM stopping every rank.
#   hvdrun_cli_test.sh <hvdrun> <topology_probe>
set -uo pipefail
hvdrun=$1
probe=$2
failures=0
fail() {
  echo "FAILED: $*"
  failures=$((failures + 1))
}

# expect_error <fragment> <hvdrun args...>: exit status 2, the fragment on stderr.
expect_error() {
  local fragment=$1
  shift
  local err
  err=$("$hvdrun" "$@" 2>&1 >/dev/null)
  local rc=$?
  [[ $rc == 2 ]] || fail "hvdrun $*: exit $rc, want 2"
  [[ "$err" == *"$fragment"* ]] || fail "hvdrun $*: stderr '$err' lacks '$fragment'"
}

out=$("$hvdrun" -np 2 "$probe" 2>&1)
rc=$?
[[ $rc == 0 ]] || fail "hvdrun -np 2 probe: exit $rc: $out"
for r in 0 1; do
  # Open MPI 4 tags "[1,0]<stdout>:", Open MPI 5 "[1,0]<stdout>: ".
  grep -q "^\[1,$r\]<stdout>: \?topology_probe rank $r/2 local $r/2 cross 0/1 .*: ok$" <<<"$out" ||
    fail "no tagged ok line from rank $r in: $out"
done
out=$("$hvdrun" -np 3 -H localhost:2 --oversubscribe --no-tag-output "$probe" 2>&1) ||
  fail "hvdrun -np 3 --oversubscribe probe: $out"
[[ $(grep -c "^topology_probe rank .*: ok$" <<<"$out") == 3 ]] || fail "3 untagged ok lines: $out"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'localhost slots=1\n' >"$dir/hostfile"
printf 'localhost slots=2\nbroken line here\n' >"$dir/badhostfile"
printf 'not a program' >"$dir/data.txt"
expect_error "-np 2 is more than the 1 slots of localhost:1" -np 2 --hostfile "$dir/hostfile" "$probe"
expect_error "$dir/badhostfile line 2 'broken line here'" -np 2 --hostfile "$dir/badhostfile" "$probe"
expect_error "-H entry 1 'localhost:two'" -np 2 -H localhost:two "$probe"
expect_error "program '$dir/missing' not found" -np 2 "$dir/missing"
expect_error "program '$dir/data.txt' is not an executable file" -np 2 "$dir/data.txt"
expect_error "unknown option '--no-such-option'" -np 2 --no-such-option "$probe"
expect_error "--num-proc is required" "$probe"
err=$(PATH=/nonexistent "$hvdrun" -np 1 "$probe" 2>&1)
[[ $? == 2 && "$err" == *"apt-get install openmpi-bin"* ]] || fail "no mpirun: '$err'"
"$hvdrun" --help | grep -q -- "--stall-check-shutdown-time-seconds" || fail "--help"
"$hvdrun" --version | grep -q "^hvdrun (horovod_cpp) " || fail "--version"
line=$("$hvdrun" -np 2 --dry-run --cache-capacity 0 "$probe" --arg 'a b')
[[ "$line" == *"-x HOROVOD_CACHE_CAPACITY=0 $probe --arg 'a b'" ]] || fail "--dry-run printed: $line"

# --start-timeout: a job whose ranks all start is left alone; one where some never reach
# hvd::init() is stopped in time, and the message names the ranks that never came.
out=$("$hvdrun" -np 2 --start-timeout 60 --verbose "$probe" 2>&1) ||
  fail "--start-timeout 60 probe: $out"
[[ "$out" == *"hvdrun: all 2 ranks started in "* ]] || fail "no check-in seen: $out"
[[ $(grep -c ": ok$" <<<"$out") == 2 ]] || fail "--start-timeout probe ok lines: $out"
# Rank 0 gets 15 s to reach hvd::init(): sanitizer builds on a busy machine start slowly.
start=$SECONDS
err=$("$hvdrun" -np 2 --start-timeout 15 /bin/sh -c \
  "if [ \$OMPI_COMM_WORLD_RANK = 1 ]; then exec sleep 90; else exec '$probe'; fi" 2>&1)
rc=$?
[[ $rc != 0 ]] || fail "--start-timeout with a rank that never starts: exit 0"
((SECONDS - start < 40)) || fail "--start-timeout 15 took $((SECONDS - start)) s"
[[ "$err" == *"did not start within 15 s (--start-timeout): no word from rank 1 "* ]] ||
  fail "--start-timeout message: $err"
err=$("$hvdrun" -np 2 --start-timeout 1.5 sleep 90 2>&1)
[[ $? != 0 && "$err" == *"within 1.5 s (--start-timeout): no word from ranks 0-1 "* ]] ||
  fail "--start-timeout, no rank starts: $err"
sleep 1
pgrep -f "^sleep 90" >/dev/null && fail "ranks left running after --start-timeout"

# The first failing rank's exit status is the job's (rank 1 fails 2 s later, so that the order
# does not depend on the machine's load).
"$hvdrun" -np 2 /bin/sh -c '[ "$OMPI_COMM_WORLD_RANK" = 0 ] || sleep 2; exit $((3 + OMPI_COMM_WORLD_RANK))' >/dev/null 2>&1
rc=$?
[[ $rc == 3 ]] || fail "failing ranks: exit $rc, want 3"

# SIGTERM stops every rank and the launch exits non-zero.
marker="hvdrun_cli_test_$$"
"$hvdrun" -np 2 /bin/bash -c "exec -a $marker sleep 120" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do
  [[ $(pgrep -fc "^$marker") == 2 ]] && break
  sleep 0.2
done
[[ $(pgrep -fc "^$marker") == 2 ]] || fail "the two sleeping ranks did not start"
kill -TERM $pid
start=$SECONDS
wait $pid
rc=$?
[[ $rc != 0 ]] || fail "SIGTERM: exit 0, want non-zero"
sleep 1
[[ $(pgrep -fc "^$marker") == 0 ]] || fail "ranks left running after SIGTERM"
((SECONDS - start < 20)) || fail "SIGTERM took $((SECONDS - start)) s"

if ((failures > 0)); then
  echo "hvdrun_cli_test: $failures failures"
  exit 1
fi
echo "hvdrun_cli_test: all checks passed"
