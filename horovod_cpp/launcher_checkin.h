// The check-in behind `hvdrun --start-timeout`. Each rank entering hvd::init() tells the
// launcher it arrived (before MPI_Init, so the launcher can name ranks that never came), and
// rank 0 tells it when every rank has agreed to start; then the launcher stops waiting. The
// launcher passes where to call in HOROVOD_HVDRUN_CHECKIN as `<token>@<ipv4>[,<ipv4>...]:<port>`
// (every address of the launcher's host: a rank may be on another host and reach only some).
// Each message is one line on its own connection: `horovod_cpp arrived <token> <rank>\n` or
// `horovod_cpp started <token> <world size>\n`. The token keeps stray connections from
// counting.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace hvd {

inline constexpr const char* kCheckinVariable = "HOROVOD_HVDRUN_CHECKIN";

struct CheckinAddress {
  std::string token;
  std::vector<std::string> hosts;  // dotted IPv4, tried in order
  int port = 0;
};

inline std::string format_checkin_address(const CheckinAddress& address) {
  std::string text = address.token + "@";
  for (std::size_t i = 0; i < address.hosts.size(); ++i)
    text += (i == 0 ? "" : ",") + address.hosts[i];
  return text + ":" + std::to_string(address.port);
}

// False if `text` is not what format_checkin_address writes.
inline bool parse_checkin_address(const std::string& text, CheckinAddress* address) {
  const std::size_t at = text.find('@');
  const std::size_t colon = text.rfind(':');
  if (at == std::string::npos || at == 0 || colon == std::string::npos || colon < at + 2)
    return false;
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return false;
  address->token = text.substr(0, at);
  address->port = std::stoi(port);
  address->hosts.clear();
  const std::string hosts = text.substr(at + 1, colon - at - 1);
  for (std::size_t begin = 0; begin <= hosts.size();) {
    const std::size_t end = std::min(hosts.find(',', begin), hosts.size());
    if (end == begin)
      return false;
    address->hosts.push_back(hosts.substr(begin, end - begin));
    begin = end + 1;
  }
  return address->port > 0 && address->port < 65536;
}

inline constexpr const char* kCheckinArrived = "arrived";
inline constexpr const char* kCheckinStarted = "started";

// kind: kCheckinArrived with a rank, or kCheckinStarted with the world size.
inline std::string checkin_message(const char* kind, const std::string& token, int number) {
  return std::string("horovod_cpp ") + kind + " " + token + " " + std::to_string(number) + "\n";
}

// Both report to the launcher named in HOROVOD_HVDRUN_CHECKIN, if any, once per process.
// Each address gets a one-second connect; a launcher that cannot be reached costs a warning,
// never an error (the job itself is fine).
// Every rank, first thing in init(); the rank comes from the launcher's environment
// (OMPI_COMM_WORLD_RANK or PMIX_RANK), as MPI is not up yet.
void report_arrival_to_launcher();
// Rank 0, once all ranks agreed to start.
void report_start_to_launcher(int world_size);

}  // namespace hvd
