#include "launcher/mpirun_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

namespace hvd {
namespace {

bool forwarded_by_default(const std::string& name) {
  return name.rfind("HOROVOD_", 0) == 0 || name.rfind("NCCL_", 0) == 0 || name == "PATH" ||
         name == "LD_LIBRARY_PATH";
}

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::vector<std::string> build_mpirun_argv(const LaunchOptions& options,
                                           const LaunchEnvironment& environment,
                                           const std::string& mpirun) {
  std::vector<std::string> argv = {mpirun};
  if (environment.is_root)
    argv.push_back("--allow-run-as-root");
  argv.insert(argv.end(),
              {"-np", std::to_string(options.num_proc), "-H", format_host_list(options.hosts),
               "--map-by", "slot", "--bind-to", "none"});
  if (options.oversubscribe)
    argv.push_back("--oversubscribe");
  if (options.tag_output)
    argv.push_back("--tag-output");
  if (!options.output_filename.empty())
    argv.insert(argv.end(), {"--output-filename", options.output_filename});
  if (!options.network_interface.empty()) {
    argv.insert(argv.end(), {"--mca", "btl_tcp_if_include", options.network_interface, "--mca",
                             "oob_tcp_if_include", options.network_interface});
  }
  std::set<std::string> set_explicitly;
  for (const auto& [name, value] : options.settings)
    set_explicitly.insert(name);
  for (const std::string& var : options.env)
    set_explicitly.insert(var.substr(0, var.find('=')));
  std::vector<std::string> forwarded;
  for (const std::string& name : environment.variable_names) {
    if (forwarded_by_default(name) && set_explicitly.count(name) == 0)
      forwarded.push_back(name);
  }
  std::sort(forwarded.begin(), forwarded.end());
  forwarded.erase(std::unique(forwarded.begin(), forwarded.end()), forwarded.end());
  for (const std::string& name : forwarded)
    argv.insert(argv.end(), {"-x", name});
  for (const auto& [name, value] : options.settings)
    argv.insert(argv.end(), {"-x", name + "=" + value});
  for (const std::string& var : options.env)
    argv.insert(argv.end(), {"-x", var});
  argv.insert(argv.end(), options.mpi_args.begin(), options.mpi_args.end());
  argv.insert(argv.end(), options.command.begin(), options.command.end());
  return argv;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"
                                           "ijklmnopqrstuvwxyz0123456789_-+=/"
                                           ".,:@%") == std::string::npos;
    if (!line.empty())
      line += ' ';
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg)
      line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return is_executable_file(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate))
      return candidate;
  }
  return "";
}

Status check_launchable(const LaunchOptions& options, std::string* mpirun_path) {
  const std::string& program = options.command.front();
  if (find_executable(program).empty()) {
    struct stat info {};
    const bool exists = program.find('/') != std::string::npos && stat(program.c_str(), &info) == 0;
    if (!exists) {
      return Status::error("program '" + program + "' not found" +
                           (program.find('/') == std::string::npos ? " on PATH" : ""));
    }
    return Status::error("program '" + program + "' is not an executable file");
  }
  *mpirun_path = find_executable("mpirun");
  if (mpirun_path->empty()) {
    return Status::error(
        "mpirun not found on PATH: hvdrun launches through Open MPI; install it (Debian/Ubuntu: "
        "apt-get install openmpi-bin)");
  }
  return Status::ok();
}

}  // namespace hvd
