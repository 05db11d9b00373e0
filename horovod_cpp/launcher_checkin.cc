#include "horovod_cpp/launcher_checkin.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "horovod_cpp/logging.h"

namespace hvd {
namespace {

constexpr int kConnectTimeoutMs = 1000;

// One attempt, bounded by kConnectTimeoutMs for the connect and for the write.
bool send_to(const std::string& host, int port, const std::string& message) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1)
    return false;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return false;
  bool sent = false;
  pollfd waiting{fd, POLLOUT, 0};
  int error = 0;
  socklen_t error_size = sizeof(error);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0 ||
      (errno == EINPROGRESS && poll(&waiting, 1, kConnectTimeoutMs) == 1 &&
       getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_size) == 0 && error == 0)) {
    std::size_t done = 0;
    while (done < message.size()) {
      const ssize_t n = send(fd, message.data() + done, message.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
                 poll(&waiting, 1, kConnectTimeoutMs) == 1) {
        continue;
      } else {
        break;
      }
    }
    sent = done == message.size();
  }
  close(fd);
  return sent;
}

void report_to_launcher(const char* kind, int number, std::atomic<bool>* reported) {
  const char* value = std::getenv(kCheckinVariable);
  if (value == nullptr || *value == '\0' || reported->exchange(true))
    return;
  CheckinAddress address;
  if (!parse_checkin_address(value, &address)) {
    log_message(LogLevel::Warning, std::string("ignoring malformed ") + kCheckinVariable + "='" +
                                       value + "' (hvdrun sets it for --start-timeout)");
    return;
  }
  const std::string message = checkin_message(kind, address.token, number);
  for (const std::string& host : address.hosts) {
    if (send_to(host, address.port, message))
      return;
  }
  log_message(LogLevel::Warning,
              std::string("could not tell hvdrun (at ") + value + ") that this rank " + kind +
                  "; with --start-timeout it will stop the job when that time is up");
}

}  // namespace

void report_arrival_to_launcher() {
  static std::atomic<bool> reported{false};  // a later init() in the same job is no news
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK"}) {
    const char* rank = std::getenv(name);
    if (rank != nullptr && *rank != '\0' &&
        std::string(rank).find_first_not_of("0123456789") == std::string::npos &&
        std::string(rank).size() < 10) {
      report_to_launcher(kCheckinArrived, std::atoi(rank), &reported);
      return;
    }
  }
}

void report_start_to_launcher(int world_size) {
  static std::atomic<bool> reported{false};
  report_to_launcher(kCheckinStarted, world_size, &reported);
}

}  // namespace hvd
