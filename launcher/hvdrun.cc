// hvdrun: checks the command line, then replaces itself with mpirun (see mpirun_command.h).
// Being replaced, not a parent, is what makes Ctrl-C and SIGTERM behave: they reach mpirun,
// which stops every rank and exits non-zero, and its exit status is the job's. With
// --start-timeout a detached watchdog waits for the ranks instead (start_watchdog.h).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "horovod_cpp/launcher_checkin.h"
#include "launcher/mpirun_command.h"
#include "launcher/start_watchdog.h"

extern char** environ;

int main(int argc, char** argv) {
  hvd::CommandLine line = hvd::parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
  if (!line.launch) {
    std::fputs(line.message.c_str(), line.exit_code == 0 ? stdout : stderr);
    return line.exit_code;
  }
  std::string mpirun;
  const hvd::Status launchable = hvd::check_launchable(line.options, &mpirun);
  if (!launchable.is_ok()) {
    std::fprintf(stderr, "hvdrun: %s\n", launchable.message().c_str());
    return 2;
  }
  hvd::LaunchEnvironment environment;
  environment.is_root = geteuid() == 0;
  for (char** var = environ; *var != nullptr; ++var) {
    const std::string entry = *var;
    environment.variable_names.push_back(entry.substr(0, entry.find('=')));
  }
  hvd::LaunchOptions& options = line.options;
  if (options.start_timeout_seconds > 0 && !options.dry_run) {
    const hvd::StartWatch watch{options.start_timeout_seconds, options.num_proc,
                                options.network_interface, options.verbose};
    hvd::StatusOr<std::string> checkin = hvd::start_watchdog(watch, getpid());
    if (!checkin.is_ok()) {
      std::fprintf(stderr, "hvdrun: %s\n", checkin.status().message().c_str());
      return 2;
    }
    options.env.push_back(std::string(hvd::kCheckinVariable) + "=" + checkin.value());
  }
  const std::vector<std::string> command = hvd::build_mpirun_argv(options, environment, mpirun);
  if (options.verbose || options.dry_run)
    std::printf("%s\n", hvd::shell_quote(command).c_str());
  if (options.dry_run)
    return 0;
  std::fflush(stdout);
  std::vector<char*> exec_argv;
  for (const std::string& arg : command)
    exec_argv.push_back(const_cast<char*>(arg.c_str()));
  exec_argv.push_back(nullptr);
  execv(mpirun.c_str(), exec_argv.data());
  std::fprintf(stderr, "hvdrun: could not run %s: %s\n", mpirun.c_str(), std::strerror(errno));
  return 127;
}
