// Rank 0's autotune log (HOROVOD_AUTOTUNE_LOG), read back as CSV for the tests that check what
// the search tried and chose.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hvd_test {

struct AutotuneLog {
  std::string header;
  std::vector<std::vector<std::string>> rows;  // fields in the header's order
  std::string error;                           // why it could not be read; empty when read
};

inline AutotuneLog read_autotune_log() {
  AutotuneLog log;
  const char* path = std::getenv("HOROVOD_AUTOTUNE_LOG");
  if (path == nullptr) {
    log.error = "HOROVOD_AUTOTUNE_LOG is not set";
    return log;
  }
  std::ifstream in(path);
  if (!in) {
    log.error = std::string("cannot open ") + path;
    return log;
  }
  std::getline(in, log.header);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream row(line);
    for (std::string field; std::getline(row, field, ',');)
      fields.push_back(field);
    log.rows.push_back(std::move(fields));
  }
  return log;
}

}  // namespace hvd_test
