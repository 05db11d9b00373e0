// The events on one tensor's row of a Chrome trace written by the timeline, as
// "phase:activity" in file order (metadata left out).
#pragma once

#include <string>
#include <vector>

#include "../unit/json_reader.h"

namespace hvd_test {

inline std::vector<std::string> row_events(const hvd::test::Json& trace,
                                           const std::string& tensor) {
  double pid = -1;
  for (const hvd::test::Json& e : trace.array) {
    if (e.at("ph").string == "M" && e.at("name").string == "process_name" &&
        e.at("args").at("name").string == tensor)
      pid = e.at("pid").number;
  }
  std::vector<std::string> out;
  for (const hvd::test::Json& e : trace.array) {
    if (pid > 0 && e.at("ph").string != "M" && e.has("pid") && e.at("pid").number == pid)
      out.push_back(e.at("ph").string + ":" + e.at("name").string);
  }
  return out;
}

}  // namespace hvd_test
