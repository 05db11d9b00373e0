#include "launcher/host_list.h"

#include <cctype>
#include <climits>
#include <cstdlib>
#include <sstream>

namespace hvd {
namespace {

constexpr int kMaxSlots = 1 << 20;

bool valid_host_name(const std::string& host) {
  if (host.empty())
    return false;
  for (char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                    c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok)
      return false;
  }
  return true;
}

StatusOr<int> parse_slots(const std::string& text) {
  if (text.empty() || text.size() > 7)
    return Status::error("slots '" + text + "' is not a number from 1 to " +
                         std::to_string(kMaxSlots));
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Status::error("slots '" + text + "' is not a number from 1 to " +
                           std::to_string(kMaxSlots));
  }
  const long slots = std::strtol(text.c_str(), nullptr, 10);
  if (slots < 1 || slots > kMaxSlots)
    return Status::error("slots '" + text + "' is not a number from 1 to " +
                         std::to_string(kMaxSlots));
  return static_cast<int>(slots);
}

// "host" or "host:N".
StatusOr<HostSlots> parse_entry(const std::string& entry) {
  HostSlots out;
  const size_t colon = entry.rfind(':');
  // IPv6 literals go in brackets ("[fd00::1]:2"), so a colon inside them is not the slots'.
  const bool bracketed = !entry.empty() && entry.front() == '[';
  const size_t close = entry.find(']');
  if (colon == std::string::npos || (bracketed && close != std::string::npos && colon < close)) {
    out.host = entry;
  } else {
    out.host = entry.substr(0, colon);
    HVD_ASSIGN_OR_RETURN(out.slots, parse_slots(entry.substr(colon + 1)));
  }
  if (!valid_host_name(out.host))
    return Status::error("'" + out.host + "' is not a host name");
  return out;
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos)
    return "";
  const size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

StatusOr<std::vector<HostSlots>> parse_host_list(const std::string& list) {
  std::vector<HostSlots> hosts;
  std::stringstream in(list);
  std::string entry;
  int index = 0;
  while (std::getline(in, entry, ',')) {
    ++index;
    StatusOr<HostSlots> host = parse_entry(trim(entry));
    if (!host.is_ok()) {
      return host.status().with_context("-H entry " + std::to_string(index) + " '" + entry + "'");
    }
    hosts.push_back(host.value());
  }
  if (hosts.empty() || list.back() == ',')
    return Status::error("-H '" + list + "': expected host:slots[,host:slots...]");
  return hosts;
}

StatusOr<std::vector<HostSlots>> parse_hostfile(const std::string& text,
                                                const std::string& source) {
  std::vector<HostSlots> hosts;
  std::stringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = source + " line " + std::to_string(number);
    std::string content = trim(line.substr(0, line.find('#')));
    if (content.empty())
      continue;
    std::stringstream words(content);
    std::string host_word, slots_word, extra;
    words >> host_word >> slots_word >> extra;
    if (!extra.empty()) {
      return Status::error(where + " '" + line +
                           "': expected 'host slots=N' or 'host:N', got extra words");
    }
    StatusOr<HostSlots> host = parse_entry(host_word);
    if (!host.is_ok())
      return host.status().with_context(where + " '" + line + "'");
    if (!slots_word.empty()) {
      const std::string prefix = "slots=";
      if (slots_word.rfind(prefix, 0) != 0 || host_word.find(':') != std::string::npos) {
        return Status::error(where + " '" + line + "': expected 'host slots=N' or 'host:N'");
      }
      StatusOr<int> slots = parse_slots(slots_word.substr(prefix.size()));
      if (!slots.is_ok())
        return slots.status().with_context(where + " '" + line + "'");
      host.value().slots = slots.value();
    }
    hosts.push_back(host.value());
  }
  if (hosts.empty())
    return Status::error(source + " lists no hosts");
  return hosts;
}

int total_slots(const std::vector<HostSlots>& hosts) {
  long total = 0;
  for (const HostSlots& h : hosts)
    total += h.slots;
  return total > INT_MAX ? INT_MAX : static_cast<int>(total);
}

std::string format_host_list(const std::vector<HostSlots>& hosts) {
  std::string out;
  for (const HostSlots& h : hosts)
    out += (out.empty() ? "" : ",") + h.host + ":" + std::to_string(h.slots);
  return out;
}

}  // namespace hvd
