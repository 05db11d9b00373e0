// Process-wide log sink on stderr: "[hvd 1] WARNING: ...". Thread-safe.
#pragma once

#include <string>

namespace hvd {

enum class LogLevel { Trace, Debug, Info, Warning, Error, Fatal };

const char* log_level_name(LogLevel level);

// Set once by init(); readers may race benignly (atomics inside).
void set_log_level(LogLevel level);
void set_log_rank(int rank);
bool log_enabled(LogLevel level);
void log_message(LogLevel level, const std::string& message);

}  // namespace hvd
