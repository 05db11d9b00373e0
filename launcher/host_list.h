// Where ranks run: "-H a:4,b:4" or a hostfile, as hvdrun accepts them.
#pragma once

#include <string>
#include <vector>

#include "horovod_cpp/status.h"

namespace hvd {

struct HostSlots {
  std::string host;
  int slots = 1;
  bool operator==(const HostSlots& other) const {
    return host == other.host && slots == other.slots;
  }
};

// "a:4,b:4"; a host without ":N" has one slot. Errors name the entry at fault.
StatusOr<std::vector<HostSlots>> parse_host_list(const std::string& list);

// One host per line, in Open MPI's form ("a slots=4") or Horovod's ("a:4"); blank lines and
// '#' comments are skipped. `source` names the file in errors, which give the line number.
StatusOr<std::vector<HostSlots>> parse_hostfile(const std::string& text, const std::string& source);

int total_slots(const std::vector<HostSlots>& hosts);
std::string format_host_list(const std::vector<HostSlots>& hosts);  // "a:4,b:4"

}  // namespace hvd
