#include "horovod_cpp/settings.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>

#include "horovod_cpp/rank_ranges.h"

namespace hvd {
namespace {

constexpr std::int64_t kMaxFusionThresholdBytes = 64LL * 1024 * 1024 * 1024;  // 64 GiB
constexpr double kMaxCycleTimeMs = 60'000;
constexpr std::int64_t kMaxStallSeconds = 7LL * 24 * 3600;
constexpr std::int64_t kMaxCacheCapacity = 1 << 16;

Status invalid(const char* name, const std::string& value, const std::string& expected) {
  return Status::error("invalid " + std::string(name) + "='" + value + "': expected " + expected);
}

StatusOr<std::int64_t> parse_int(const char* name, const std::string& text, std::int64_t max,
                                 const std::string& expected) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return invalid(name, text, expected);
  }
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || value > max)
    return invalid(name, text, expected);
  return static_cast<std::int64_t>(value);
}

StatusOr<double> parse_double(const char* name, const std::string& text, double max,
                              const std::string& expected) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || errno == ERANGE || *end != '\0' || !std::isfinite(value) || value < 0 ||
      value > max) {
    return invalid(name, text, expected);
  }
  return value;
}

StatusOr<bool> parse_bool(const char* name, const std::string& text) {
  if (text == "1" || text == "true" || text == "TRUE" || text == "True")
    return true;
  if (text == "0" || text == "false" || text == "FALSE" || text == "False")
    return false;
  return invalid(name, text, "0, 1, true or false");
}

StatusOr<LogLevel> parse_log_level(const char* name, const std::string& text) {
  std::string lower;
  for (char c : text)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "trace")
    return LogLevel::Trace;
  if (lower == "debug")
    return LogLevel::Debug;
  if (lower == "info")
    return LogLevel::Info;
  if (lower == "warning" || lower == "warn")
    return LogLevel::Warning;
  if (lower == "error")
    return LogLevel::Error;
  if (lower == "fatal")
    return LogLevel::Fatal;
  return invalid(name, text, "one of trace, debug, info, warning, error, fatal");
}

}  // namespace

StatusOr<Settings> Settings::from_environment() {
  return from_environment([](const char* name) { return std::getenv(name); });
}

StatusOr<Settings> Settings::from_environment(const EnvLookup& lookup) {
  Settings s;
  auto value_of = [&](const char* name, std::string* out) {
    const char* raw = lookup(name);
    if (raw == nullptr)
      return false;
    *out = raw;
    return true;
  };
  std::string text;
  if (value_of("HOROVOD_FUSION_THRESHOLD", &text)) {
    HVD_ASSIGN_OR_RETURN(s.fusion_threshold_bytes,
                         parse_int("HOROVOD_FUSION_THRESHOLD", text, kMaxFusionThresholdBytes,
                                   "a byte count from 0 to 68719476736 (64 GiB)"));
  }
  if (value_of("HOROVOD_CYCLE_TIME", &text)) {
    HVD_ASSIGN_OR_RETURN(const double ms, parse_double("HOROVOD_CYCLE_TIME", text, kMaxCycleTimeMs,
                                                       "milliseconds from 0 to 60000"));
    s.cycle_time = std::chrono::microseconds(static_cast<std::int64_t>(std::llround(ms * 1000)));
  }
  if (value_of("HOROVOD_CACHE_CAPACITY", &text)) {
    HVD_ASSIGN_OR_RETURN(const std::int64_t capacity,
                         parse_int("HOROVOD_CACHE_CAPACITY", text, kMaxCacheCapacity,
                                   "a tensor count from 0 (off) to 65536"));
    s.cache_capacity = static_cast<int>(capacity);
  }
  if (value_of("HOROVOD_TIMELINE", &text))
    s.timeline_path = text;
  if (value_of("HOROVOD_TIMELINE_MARK_CYCLES", &text)) {
    HVD_ASSIGN_OR_RETURN(s.timeline_mark_cycles, parse_bool("HOROVOD_TIMELINE_MARK_CYCLES", text));
  }
  if (value_of("HOROVOD_AUTOTUNE", &text)) {
    HVD_ASSIGN_OR_RETURN(s.autotune, parse_bool("HOROVOD_AUTOTUNE", text));
  }
  if (value_of("HOROVOD_AUTOTUNE_LOG", &text))
    s.autotune_log_path = text;
  if (value_of("HOROVOD_AUTOTUNE_WARMUP_SAMPLES", &text)) {
    HVD_ASSIGN_OR_RETURN(
        const std::int64_t samples,
        parse_int("HOROVOD_AUTOTUNE_WARMUP_SAMPLES", text, 1000, "a sample count from 0 to 1000"));
    s.autotune_warmup_samples = static_cast<int>(samples);
  }
  if (value_of("HOROVOD_AUTOTUNE_STEPS_PER_SAMPLE", &text)) {
    HVD_ASSIGN_OR_RETURN(const std::int64_t steps,
                         parse_int("HOROVOD_AUTOTUNE_STEPS_PER_SAMPLE", text, 100000,
                                   "a step count from 1 to 100000"));
    if (steps < 1) {
      return Status::error("invalid HOROVOD_AUTOTUNE_STEPS_PER_SAMPLE='" + text +
                           "': expected a step count from 1 to 100000");
    }
    s.autotune_steps_per_sample = static_cast<int>(steps);
  }
  if (value_of("HOROVOD_HIERARCHICAL_ALLREDUCE", &text)) {
    HVD_ASSIGN_OR_RETURN(s.hierarchical_allreduce,
                         parse_bool("HOROVOD_HIERARCHICAL_ALLREDUCE", text));
  }
  if (value_of("HOROVOD_STALL_CHECK_TIME_SECONDS", &text)) {
    HVD_ASSIGN_OR_RETURN(const std::int64_t seconds,
                         parse_int("HOROVOD_STALL_CHECK_TIME_SECONDS", text, kMaxStallSeconds,
                                   "whole seconds from 0 to 604800"));
    s.stall_check_time = std::chrono::seconds(seconds);
  }
  if (value_of("HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", &text)) {
    HVD_ASSIGN_OR_RETURN(const std::int64_t seconds,
                         parse_int("HOROVOD_STALL_SHUTDOWN_TIME_SECONDS", text, kMaxStallSeconds,
                                   "whole seconds from 0 (off) to 604800"));
    s.stall_shutdown_time = std::chrono::seconds(seconds);
  }
  if (value_of("HOROVOD_STALL_CHECK_DISABLE", &text)) {
    HVD_ASSIGN_OR_RETURN(s.stall_check_disabled, parse_bool("HOROVOD_STALL_CHECK_DISABLE", text));
  }
  if (value_of("HOROVOD_MALLOC_TUNING", &text)) {
    HVD_ASSIGN_OR_RETURN(s.malloc_tuning, parse_bool("HOROVOD_MALLOC_TUNING", text));
  }
  if (value_of("HOROVOD_GPU_OPERATIONS", &text)) {
    std::string upper;
    for (char c : text)
      upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != "NCCL" && upper != "MPI") {
      return Status::error("HOROVOD_GPU_OPERATIONS='" + text + "': expected NCCL or MPI");
    }
    s.gpu_operations_nccl = upper == "NCCL";
  }
  if (value_of("HOROVOD_LOG_LEVEL", &text)) {
    HVD_ASSIGN_OR_RETURN(s.log_level, parse_log_level("HOROVOD_LOG_LEVEL", text));
  }
  return s;
}

std::string Settings::describe() const {
  std::ostringstream out;
  out << "horovod_cpp settings:\n"
      << "  HOROVOD_FUSION_THRESHOLD = " << fusion_threshold_bytes << " bytes ("
      << static_cast<double>(fusion_threshold_bytes) / (1024.0 * 1024.0) << " MiB)\n"
      << "  HOROVOD_CYCLE_TIME = " << static_cast<double>(cycle_time.count()) / 1000.0 << " ms\n"
      << "  HOROVOD_CACHE_CAPACITY = " << cache_capacity << (cache_capacity == 0 ? " (off)" : "")
      << "\n"
      << "  HOROVOD_TIMELINE = " << (timeline_path.empty() ? "(off)" : timeline_path)
      << (timeline_mark_cycles ? " (cycles marked)" : "") << " (rank 0 records)\n"
      << "  HOROVOD_AUTOTUNE = "
      << (autotune ? "on: " + std::to_string(autotune_warmup_samples) + " warm-up samples of " +
                         std::to_string(autotune_steps_per_sample) + " steps, log " +
                         (autotune_log_path.empty() ? "(none)" : autotune_log_path)
                   : std::string("off"))
      << "\n"
      << "  HOROVOD_STALL_CHECK_TIME_SECONDS = " << stall_check_time.count() << " s"
      << (stall_check_disabled ? " (disabled by HOROVOD_STALL_CHECK_DISABLE)" : "") << "\n"
      << "  HOROVOD_STALL_SHUTDOWN_TIME_SECONDS = " << stall_shutdown_time.count() << " s"
      << (stall_shutdown_time.count() == 0 ? " (off)" : "") << "\n"
      << "  HOROVOD_MALLOC_TUNING = " << (malloc_tuning ? "1" : "0") << "\n"
      << "  HOROVOD_GPU_OPERATIONS = " << (gpu_operations_nccl ? "NCCL" : "MPI") << "\n"
      << "  HOROVOD_HIERARCHICAL_ALLREDUCE = " << (hierarchical_allreduce ? "1" : "0")
      << " (allreduces on the GPU data plane only)\n"
      << "  HOROVOD_LOG_LEVEL = " << log_level_name(log_level);
  return out.str();
}

std::vector<Settings::Shared> Settings::shared() const {
  return {{"HOROVOD_FUSION_THRESHOLD", fusion_threshold_bytes},
          {"HOROVOD_CACHE_CAPACITY", cache_capacity},
          {"HOROVOD_AUTOTUNE", autotune ? 1 : 0},
          {"HOROVOD_GPU_OPERATIONS (1 = NCCL, 0 = MPI)", gpu_operations_nccl ? 1 : 0},
          {"HOROVOD_HIERARCHICAL_ALLREDUCE", hierarchical_allreduce ? 1 : 0}};
}

Status check_shared_settings(const std::vector<const char*>& names,
                             const std::vector<std::vector<std::int64_t>>& values_by_rank) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::map<std::int64_t, std::vector<int>> ranks_by_value;
    for (std::size_t rank = 0; rank < values_by_rank.size(); ++rank)
      ranks_by_value[values_by_rank[rank].at(i)].push_back(static_cast<int>(rank));
    if (ranks_by_value.size() <= 1)
      continue;
    std::string message = std::string(names[i]) + " differs between ranks:";
    for (const auto& [value, ranks] : ranks_by_value) {
      message += (value == ranks_by_value.begin()->first ? " " : "; ") + describe_ranks(ranks) +
                 (ranks.size() == 1 ? " has " : " have ") + std::to_string(value);
    }
    return Status::error(message +
                         ". Every rank must use the same value (set it for the whole "
                         "job, e.g. with hvdrun's option or -x)");
  }
  return Status::ok();
}

}  // namespace hvd
