// The events on one tensor's row of a Chrome trace written by the timeline, as
// "phase:activity" in file order (metadata left out), and when they happened.
#pragma once

#include <string>
#include <vector>

#include "../unit/json_reader.h"

namespace hvd_test {

// The trace's process id of `tensor`'s row; -1 if it has none.
inline double row_pid(const hvd::test::Json& trace, const std::string& tensor) {
  for (const hvd::test::Json& e : trace.array) {
    if (e.at("ph").string == "M" && e.at("name").string == "process_name" &&
        e.at("args").at("name").string == tensor)
      return e.at("pid").number;
  }
  return -1;
}

inline std::vector<std::string> row_events(const hvd::test::Json& trace,
                                           const std::string& tensor) {
  const double pid = row_pid(trace, tensor);
  std::vector<std::string> out;
  for (const hvd::test::Json& e : trace.array) {
    if (pid > 0 && e.at("ph").string != "M" && e.has("pid") && e.at("pid").number == pid)
      out.push_back(e.at("ph").string + ":" + e.at("name").string);
  }
  return out;
}

// The time (us from the trace's origin) of the first `event` ("E:WAIT_FOR_DATA") on
// `tensor`'s row; -1 if there is none.
inline double row_event_time(const hvd::test::Json& trace, const std::string& tensor,
                             const std::string& event) {
  const double pid = row_pid(trace, tensor);
  for (const hvd::test::Json& e : trace.array) {
    if (pid > 0 && e.at("ph").string != "M" && e.has("pid") && e.at("pid").number == pid &&
        e.at("ph").string + ":" + e.at("name").string == event)
      return e.at("ts").number;
  }
  return -1;
}

}  // namespace hvd_test
