#include "launcher/start_watchdog.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "horovod_cpp/launcher_checkin.h"
#include "horovod_cpp/rank_ranges.h"

namespace hvd {
namespace {

using Clock = std::chrono::steady_clock;

std::string random_token() {
  std::random_device device;
  char text[17];
  std::snprintf(text, sizeof(text), "%08x%08x", device(), device());
  return text;
}

// Whether an address is on `network` (as --network-interface names it: an interface name like
// eth0, or a subnet like 10.0.0.0/24, the two forms Open MPI's *_if_include take).
bool on_network(const ifaddrs& entry, const std::string& network) {
  if (network.empty())
    return true;
  const std::size_t slash = network.find('/');
  if (slash == std::string::npos)
    return network == entry.ifa_name;
  in_addr subnet{};
  const std::string bits_text = network.substr(slash + 1);
  if (inet_pton(AF_INET, network.substr(0, slash).c_str(), &subnet) != 1 || bits_text.empty() ||
      bits_text.size() > 2 || bits_text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int bits = std::stoi(bits_text);
  if (bits > 32)
    return false;
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(entry.ifa_addr);
  return (ntohl(ipv4->sin_addr.s_addr) & mask) == (ntohl(subnet.s_addr) & mask);
}

// This host's IPv4 addresses a rank might reach it by, loopback last (only ranks on this
// host can use it).
std::vector<std::string> host_addresses(const std::string& network) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET ||
          (a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0 ||
          !on_network(*a, network)) {
        continue;
      }
      char text[INET_ADDRSTRLEN];
      const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      if (inet_ntop(AF_INET, &ipv4->sin_addr, text, sizeof(text)) != nullptr)
        out.push_back(text);
    }
    freeifaddrs(list);
  }
  out.push_back("127.0.0.1");
  return out;
}

// Alive and not yet a zombie waiting for its parent (a shell) to reap it.
bool running(pid_t pid) {
  if (kill(pid, 0) != 0)
    return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size() ||
         line[close_paren + 2] != 'Z';
}

// One line from a new connection, read within a second.
std::string read_line(int listener) {
  const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return "";
  timeval limit{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  std::string line;
  char buffer[128];
  while (line.size() < 256 && line.find('\n') == std::string::npos) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0)
      break;
    line.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return line.substr(0, line.find('\n'));
}

std::string seconds_text(double seconds) {
  std::ostringstream out;
  out.precision(3);
  out << seconds;
  return out.str();
}

[[noreturn]] void watch_start(const StartWatch& watch, pid_t mpirun, int listener,
                              const std::string& token) {
  const Clock::time_point begin = Clock::now();
  const Clock::time_point deadline =
      begin + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(watch.timeout_seconds));
  std::set<int> arrived;
  while (Clock::now() < deadline) {
    if (!running(mpirun))
      _exit(0);
    pollfd waiting{listener, POLLIN, 0};
    if (poll(&waiting, 1, 200) != 1)
      continue;
    std::istringstream words(read_line(listener));
    std::string magic, kind, their_token;
    long number = -1;
    if (!(words >> magic >> kind >> their_token >> number) || magic != "horovod_cpp" ||
        their_token != token || number < 0) {
      continue;
    }
    if (kind == kCheckinArrived && number < watch.num_proc) {
      arrived.insert(static_cast<int>(number));
    } else if (kind == kCheckinStarted) {
      if (watch.verbose) {
        std::fprintf(
            stderr, "hvdrun: all %ld ranks started in %s s\n", number,
            seconds_text(std::chrono::duration<double>(Clock::now() - begin).count()).c_str());
      }
      _exit(0);
    }
  }
  std::vector<int> missing;
  for (int rank = 0; rank < watch.num_proc; ++rank) {
    if (arrived.count(rank) == 0)
      missing.push_back(rank);
  }
  const std::string why =
      missing.empty()
          ? "every rank entered hvd::init(), but they did not finish starting together (MPI "
            "could not connect them?)"
          : "no word from " + describe_ranks(missing) +
                " (never reached hvd::init(), or cannot reach this host)";
  std::fprintf(stderr,
               "hvdrun: the job did not start within %s s (--start-timeout): %s; "
               "stopping it\n",
               seconds_text(watch.timeout_seconds).c_str(), why.c_str());
  kill(mpirun, SIGTERM);
  for (int tick = 0; tick < 100 && running(mpirun); ++tick)
    usleep(100 * 1000);
  if (running(mpirun))
    kill(mpirun, SIGKILL);
  _exit(0);
}

}  // namespace

StatusOr<std::string> start_watchdog(const StartWatch& watch, pid_t mpirun_pid) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t size = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      listen(listener, 1024) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    const std::string why = std::strerror(errno);
    if (listener >= 0)
      close(listener);
    return Status::error("--start-timeout: cannot listen for the ranks' check-in: " + why);
  }
  CheckinAddress checkin;
  checkin.token = random_token();
  checkin.hosts = host_addresses(watch.network_interface);
  checkin.port = ntohs(address.sin_port);

  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t middle = fork();
  if (middle < 0) {
    close(listener);
    return Status::error(std::string("--start-timeout: fork: ") + std::strerror(errno));
  }
  if (middle == 0) {
    // The middle process exits at once, so the watchdog belongs to init, not to mpirun.
    if (fork() == 0) {
      const int null = open("/dev/null", O_RDWR);
      dup2(null, STDIN_FILENO);
      dup2(null, STDOUT_FILENO);  // stderr stays: the timeout message goes there
      signal(SIGPIPE, SIG_IGN);
      watch_start(watch, mpirun_pid, listener, checkin.token);
    }
    _exit(0);
  }
  waitpid(middle, nullptr, 0);
  close(listener);
  return format_checkin_address(checkin);
}

}  // namespace hvd
