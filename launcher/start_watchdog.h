// `hvdrun --start-timeout S`: the job must have every rank inside hvd::init() within S
// seconds, or it is stopped, instead of hanging on a host that never starts its ranks.
//
// hvdrun still becomes mpirun (exec keeps signals and the exit status mpirun's); the waiting is
// done by a watchdog process started just before, detached so it is nobody's child to reap. It
// listens on a TCP port, rank 0 checks in there (horovod_cpp/launcher_checkin.h), and then the
// watchdog exits. If the time runs out first, it says so on stderr and sends mpirun SIGTERM
// (mpirun stops every rank and exits non-zero), then SIGKILL if mpirun is still there 10 s
// later. It also exits when mpirun does.
#pragma once

#include <sys/types.h>

#include <string>

#include "horovod_cpp/status.h"

namespace hvd {

struct StartWatch {
  double timeout_seconds = 0;
  int num_proc = 0;
  std::string network_interface;  // if set, only addresses on it are offered to the ranks
  bool verbose = false;           // say when the ranks checked in
};

// Starts the watchdog for the process `mpirun_pid` (hvdrun's own pid: exec keeps it) and
// returns the HOROVOD_HVDRUN_CHECKIN value the ranks need.
StatusOr<std::string> start_watchdog(const StartWatch& watch, pid_t mpirun_pid);

}  // namespace hvd
