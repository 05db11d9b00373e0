#include "launcher/launch_options.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#ifndef HOROVOD_CPP_VERSION
#define HOROVOD_CPP_VERSION "unknown"
#endif

namespace hvd {
namespace {

constexpr int kUsageError = 2;

CommandLine usage_error(const std::string& message) {
  CommandLine out;
  out.exit_code = kUsageError;
  out.message = "hvdrun: " + message + "\nRun 'hvdrun --help' for usage.\n";
  return out;
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Horovod spells it -np; CLI11 takes one letter after a single dash.
std::vector<std::string> normalized(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool in_command = false;
  for (const std::string& arg : args) {
    if (arg == "--")
      in_command = true;
    out.push_back(!in_command && arg == "-np" ? "--num-proc" : arg);
  }
  return out;
}

// What the Horovod-style setting options were given; -1 (or empty, or false): not given, so
// the rank's environment or the runtime's default decides.
struct SettingOptions {
  int fusion_threshold_mb = -1;
  double cycle_time_ms = -1;
  int cache_capacity = -1;
  std::string timeline;
  bool timeline_mark_cycles = false;
  bool autotune = false;
  std::string autotune_log;
  bool hierarchical = false;
  std::string log_level;
  int stall_warning = -1;
  int stall_shutdown = -1;
};

// Options as CLI11 fills them in, before they are checked against each other.
struct ParsedOptions {
  LaunchOptions launch;
  std::string host_list;
  std::string hostfile;
  std::string mpi_args;
  bool no_tag_output = false;
  SettingOptions settings;
};

void add_launch_options(CLI::App& app, ParsedOptions* parsed) {
  LaunchOptions& o = parsed->launch;
  app.add_option("-n,--num-proc", o.num_proc, "number of ranks to start (also -np)")
      ->required()
      ->check(CLI::Range(1, 1 << 20));
  auto* hosts_opt = app.add_option("-H,--hosts", parsed->host_list,
                                   "hosts and their slots: host:slots[,host:slots...] "
                                   "(default: localhost:N)");
  app.add_option("--hostfile", parsed->hostfile,
                 "file with one host per line: 'host slots=N' or 'host:N'")
      ->excludes(hosts_opt);
  app.add_flag("--oversubscribe", o.oversubscribe,
               "allow more ranks than slots (mpirun --oversubscribe)");
  app.add_option("-x,--env", o.env,
                 "pass an environment variable to every rank: NAME (its current value) or "
                 "NAME=VALUE; repeatable")
      ->allow_extra_args(false);  // one variable per -x: the program may follow
  app.add_option("--output-filename", o.output_filename,
                 "write each rank's output under this directory instead of the terminal");
  app.add_flag("--no-tag-output", parsed->no_tag_output,
               "do not prefix output lines with the rank");
  app.add_option("--network-interface", o.network_interface,
                 "keep MPI's TCP traffic on this interface (e.g. eth0)");
  app.add_option("--start-timeout", o.start_timeout_seconds,
                 "stop the job if its ranks have not all started hvd::init() within this many "
                 "seconds (default: wait as long as it takes)")
      ->check(CLI::Range(0.001, 1e6));
  app.add_option("--mpi-args", parsed->mpi_args, "extra arguments for mpirun, as one string");
  app.add_flag("--verbose", o.verbose, "print the mpirun command before running it");
  app.add_flag("--dry-run", o.dry_run, "print the mpirun command and exit");
}

void add_setting_options(CLI::App& app, SettingOptions* s) {
  const char* tuning = "Settings (each sets the HOROVOD_* variable named, on every rank)";
  app.add_option("--fusion-threshold-mb", s->fusion_threshold_mb,
                 "HOROVOD_FUSION_THRESHOLD: fuse allreduces up to this many MiB (default 64)")
      ->check(CLI::Range(0, 1 << 20))
      ->group(tuning);
  app.add_option("--cycle-time-ms", s->cycle_time_ms,
                 "HOROVOD_CYCLE_TIME: negotiation period in ms while ops wait (default 1)")
      ->check(CLI::Range(0.0, 1e6))
      ->group(tuning);
  app.add_option("--cache-capacity", s->cache_capacity,
                 "HOROVOD_CACHE_CAPACITY: response cache entries, 0 = off (default 1024)")
      ->check(CLI::Range(0, 65536))
      ->group(tuning);
  app.add_option("--timeline-filename", s->timeline, "HOROVOD_TIMELINE: write a timeline here")
      ->group(tuning);
  app.add_flag("--timeline-mark-cycles", s->timeline_mark_cycles,
               "HOROVOD_TIMELINE_MARK_CYCLES=1: mark negotiation cycles in the timeline")
      ->group(tuning);
  app.add_flag("--autotune", s->autotune, "HOROVOD_AUTOTUNE=1: tune fusion and cycle time")
      ->group(tuning);
  app.add_option("--autotune-log-file", s->autotune_log,
                 "HOROVOD_AUTOTUNE_LOG: CSV log of autotuning trials")
      ->group(tuning);
  app.add_flag("--hierarchical-allreduce", s->hierarchical,
               "HOROVOD_HIERARCHICAL_ALLREDUCE=1: reduce within hosts, then across")
      ->group(tuning);
  app.add_option("--log-level", s->log_level, "HOROVOD_LOG_LEVEL")
      ->check(
          CLI::IsMember({"trace", "debug", "info", "warning", "error", "fatal"}, CLI::ignore_case))
      ->group(tuning);
  app.add_option("--stall-check-warning-time-seconds", s->stall_warning,
                 "HOROVOD_STALL_CHECK_TIME_SECONDS: report ops some ranks lack after this long "
                 "(default 60)")
      ->check(CLI::Range(1, 86400))
      ->group(tuning);
  app.add_option("--stall-check-shutdown-time-seconds", s->stall_shutdown,
                 "HOROVOD_STALL_SHUTDOWN_TIME_SECONDS: fail every rank after a stall this "
                 "long, 0 = never (default 0)")
      ->check(CLI::Range(0, 86400))
      ->group(tuning);
}

// The HOROVOD_* variables the setting options ask for, in a fixed order.
std::vector<std::pair<std::string, std::string>> horovod_variables(const SettingOptions& s) {
  std::vector<std::pair<std::string, std::string>> out;
  auto set = [&out](const char* name, const std::string& value) { out.emplace_back(name, value); };
  if (s.fusion_threshold_mb >= 0)
    set("HOROVOD_FUSION_THRESHOLD", std::to_string(std::int64_t{s.fusion_threshold_mb} << 20));
  if (s.cycle_time_ms >= 0)
    set("HOROVOD_CYCLE_TIME", format_number(s.cycle_time_ms));
  if (s.cache_capacity >= 0)
    set("HOROVOD_CACHE_CAPACITY", std::to_string(s.cache_capacity));
  if (!s.timeline.empty())
    set("HOROVOD_TIMELINE", s.timeline);
  if (s.timeline_mark_cycles)
    set("HOROVOD_TIMELINE_MARK_CYCLES", "1");
  if (s.autotune)
    set("HOROVOD_AUTOTUNE", "1");
  if (!s.autotune_log.empty())
    set("HOROVOD_AUTOTUNE_LOG", s.autotune_log);
  if (s.hierarchical)
    set("HOROVOD_HIERARCHICAL_ALLREDUCE", "1");
  if (!s.log_level.empty())
    set("HOROVOD_LOG_LEVEL", s.log_level);
  if (s.stall_warning >= 0)
    set("HOROVOD_STALL_CHECK_TIME_SECONDS", std::to_string(s.stall_warning));
  if (s.stall_shutdown >= 0)
    set("HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", std::to_string(s.stall_shutdown));
  return out;
}

// From --hostfile, -H, or localhost with a slot per rank; an error names the bad entry.
StatusOr<std::vector<HostSlots>> hosts_asked_for(const ParsedOptions& parsed) {
  if (!parsed.hostfile.empty()) {
    std::ifstream in(parsed.hostfile);
    if (!in)
      return Status::error("cannot read hostfile '" + parsed.hostfile + "'");
    std::stringstream text;
    text << in.rdbuf();
    return parse_hostfile(text.str(), parsed.hostfile);
  }
  if (!parsed.host_list.empty())
    return parse_host_list(parsed.host_list);
  return std::vector<HostSlots>{HostSlots{"localhost", parsed.launch.num_proc}};
}

// What CLI11 leaves to us: a program follows the options.
Status check_command(const std::vector<std::string>& command) {
  if (command.empty())
    return Status::error("no program to run: hvdrun -np N [options] [--] program [args...]");
  if (command.front().size() > 1 && command.front()[0] == '-')
    return Status::error("unknown option '" + command.front() + "'");
  return Status::ok();
}

// Also left to us: enough slots for the ranks, and -x names that are variable names.
Status check_slots_and_env(const LaunchOptions& o) {
  const int slots = total_slots(o.hosts);
  if (o.num_proc > slots && !o.oversubscribe) {
    return Status::error("-np " + std::to_string(o.num_proc) + " is more than the " +
                         std::to_string(slots) + " slots of " + format_host_list(o.hosts) +
                         " (add --oversubscribe to allow it)");
  }
  for (const std::string& var : o.env) {
    const std::string name = var.substr(0, var.find('='));
    // A shell variable's name: letters, digits and '_', not starting with a digit.
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) ||
        name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                               "vwxyz0123456789_") != std::string::npos) {
      return Status::error("-x '" + var + "': expected NAME or NAME=VALUE");
    }
  }
  return Status::ok();
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& args) {
  CLI::App app(
      "hvdrun: launch a horovod_cpp program on N ranks through Open MPI's mpirun.\n"
      "  hvdrun -np 4 ./train --epochs 3\n"
      "  hvdrun -np 8 -H a:4,b:4 --fusion-threshold-mb 32 -- ./train\n"
      "Options before the program are hvdrun's; everything from the program on is passed to "
      "it unchanged. Each rank's output is tagged with its rank.",
      "hvdrun");
  app.set_version_flag("--version", std::string("hvdrun (horovod_cpp) ") + HOROVOD_CPP_VERSION);
  app.prefix_command();
  app.get_formatter()->column_width(44);
  ParsedOptions parsed;
  add_launch_options(app, &parsed);
  add_setting_options(app, &parsed.settings);

  std::vector<std::string> argv = normalized(args);
  std::reverse(argv.begin(), argv.end());  // CLI11 takes them last-first
  try {
    app.parse(argv);
  } catch (const CLI::CallForHelp&) {
    CommandLine out;
    out.message = app.help();
    return out;
  } catch (const CLI::CallForVersion& e) {
    CommandLine out;
    out.message = std::string(e.what()) + "\n";
    return out;
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }

  LaunchOptions& o = parsed.launch;
  o.command = app.remaining();
  if (!o.command.empty() && o.command.front() == "--")
    o.command.erase(o.command.begin());
  const Status command = check_command(o.command);
  if (!command.is_ok())
    return usage_error(command.message());
  StatusOr<std::vector<HostSlots>> hosts = hosts_asked_for(parsed);
  if (!hosts.is_ok())
    return usage_error(hosts.status().message());
  o.hosts = std::move(hosts).value();
  const Status checked = check_slots_and_env(o);
  if (!checked.is_ok())
    return usage_error(checked.message());
  std::istringstream words(parsed.mpi_args);
  for (std::string word; words >> word;)
    o.mpi_args.push_back(word);
  o.tag_output = !parsed.no_tag_output;
  o.settings = horovod_variables(parsed.settings);

  CommandLine out;
  out.launch = true;
  out.options = std::move(o);
  return out;
}

}  // namespace hvd
