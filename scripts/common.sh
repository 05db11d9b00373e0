# Shared by the scripts: repo root, build dir, job count, and the mpirun line for this machine.
# shellcheck shell=bash
HVD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HVD_JOBS=${HVD_JOBS:-2}
# Root needs --allow-run-as-root; a 2-core machine needs --oversubscribe for more ranks.
HVD_MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)

# hvd_build <build-dir> [cmake args...]: configure (once) and build with HVD_JOBS jobs.
hvd_build() {
  local dir=$1
  shift
  cmake -S "$HVD_ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"
    return 1
  }
  cmake --build "$dir" -j "$HVD_JOBS"
}
