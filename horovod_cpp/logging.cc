#include "horovod_cpp/logging.h"

#include <atomic>
#include <cstdio>

namespace hvd {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Warning)};
std::atomic<int> g_rank{-1};
}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Trace:
      return "TRACE";
    case LogLevel::Debug:
      return "DEBUG";
    case LogLevel::Info:
      return "INFO";
    case LogLevel::Warning:
      return "WARNING";
    case LogLevel::Error:
      return "ERROR";
    case LogLevel::Fatal:
      return "FATAL";
  }
  return "?";
}

void set_log_level(LogLevel level) {
  g_level.store(static_cast<int>(level));
}
void set_log_rank(int rank) {
  g_rank.store(rank);
}
bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load();
}

void log_message(LogLevel level, const std::string& message) {
  if (!log_enabled(level))
    return;
  // One fprintf per line keeps lines from different threads whole.
  const int rank = g_rank.load();
  if (rank >= 0) {
    std::fprintf(stderr, "[hvd %d] %s: %s\n", rank, log_level_name(level), message.c_str());
  } else {
    std::fprintf(stderr, "[hvd] %s: %s\n", log_level_name(level), message.c_str());
  }
}

}  // namespace hvd
