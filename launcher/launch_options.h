// hvdrun's command line: what the user asked for, parsed and checked, before anything runs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "launcher/host_list.h"

namespace hvd {

struct LaunchOptions {
  int num_proc = 0;
  std::vector<HostSlots> hosts;  // from -H or --hostfile; localhost:num_proc if neither
  bool oversubscribe = false;
  bool tag_output = true;
  bool verbose = false;
  bool dry_run = false;
  std::string output_filename;    // per-rank log directory (mpirun --output-filename)
  std::string network_interface;  // e.g. eth0: MPI's TCP traffic stays on it
  std::vector<std::string> mpi_args;
  double start_timeout_seconds = 0;  // 0: wait as long as it takes (see start_watchdog.h)
  std::vector<std::string> env;      // -x NAME or NAME=VALUE, in the order given
  // HOROVOD_* variables the options set, in a fixed order.
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<std::string> command;  // the program and its arguments
};

// Either options to launch with, or what to print and the exit status (help and version: 0
// on stdout; bad usage: 2 on stderr).
struct CommandLine {
  bool launch = false;
  LaunchOptions options;
  int exit_code = 0;
  std::string message;
};

// `args` excludes argv[0]. Reads the hostfile if one is named.
CommandLine parse_command_line(const std::vector<std::string>& args);

}  // namespace hvd
