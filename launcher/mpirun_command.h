// Turns hvdrun's options into the mpirun command that runs them (Open MPI 4.x flags).
#pragma once

#include <string>
#include <vector>

#include "launcher/launch_options.h"

namespace hvd {

struct LaunchEnvironment {
  bool is_root = false;
  std::vector<std::string> variable_names;  // of hvdrun's own environment
};

// argv for mpirun: one rank per slot in host order, no binding (like Horovod: the training
// program's threads decide), rank-tagged output, and every HOROVOD_* / NCCL_* variable plus
// PATH and LD_LIBRARY_PATH forwarded to remote ranks, then the options' settings and -x
// variables (later ones win in mpirun).
std::vector<std::string> build_mpirun_argv(const LaunchOptions& options,
                                           const LaunchEnvironment& environment,
                                           const std::string& mpirun = "mpirun");

// argv as one line a shell would read back the same (for --verbose / --dry-run).
std::string shell_quote(const std::vector<std::string>& argv);

// The path a command name runs, searched in PATH as execvp would; empty if none is executable.
std::string find_executable(const std::string& name);

// Checks before launch: the program exists and is executable, and mpirun is installed. The
// error says what to fix.
Status check_launchable(const LaunchOptions& options, std::string* mpirun_path);

}  // namespace hvd
