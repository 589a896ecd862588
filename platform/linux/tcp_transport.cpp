#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace onenet::platform {
namespace {

// Waits for `events` on `fd` for up to `timeout_ms`, or for `cancel_fd` (-1: none) to become
// readable; retries on EINTR. Returns poll()'s result.
int poll_fd(int fd, short events, uint32_t timeout_ms, int cancel_fd = -1) {
  pollfd p[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
  const nfds_t count = cancel_fd >= 0 ? 2 : 1;
  const uint64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    const uint64_t now = monotonic_ms();
    const int left = now >= deadline ? 0 : static_cast<int>(deadline - now);
    const int r = ::poll(p, count, left);
    if (r >= 0 || errno != EINTR) return r;
  }
}

// poll_fd's result as a wait status.
Status wait_status(int polled) {
  return polled > 0    ? Status::kOk
         : polled == 0 ? Status::kTransportTimeout
                       : Status::kTransportIoError;
}

uint32_t monotonic_us32() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint32_t>(static_cast<uint64_t>(now.tv_sec) * 1000000u +
                               static_cast<uint64_t>(now.tv_nsec) / 1000u);
}

// Whether `cancel_fd` (-1: none) is readable now.
bool cancelled(int cancel_fd) {
  if (cancel_fd < 0) return false;
  pollfd p{cancel_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// One non-blocking connect attempt, bounded by `timeout_ms` and cancelled once `cancel_fd` is
// readable. Returns the socket or -1.
int connect_one(const addrinfo* ai, uint32_t timeout_ms, int cancel_fd, Status* status) {
  const int fd =
      ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return -1;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    const int ready = poll_fd(fd, POLLOUT, timeout_ms, cancel_fd);
    if (cancelled(cancel_fd)) {
      *status = Status::kTransportCancelled;
      ::close(fd);
      return -1;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (ready <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      if (ready == 0) *status = Status::kTransportTimeout;
      ::close(fd);
      return -1;
    }
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // MQTT packets are small
  return fd;
}

}  // namespace

uint64_t SystemClock::now_ms() {
  return monotonic_ms();
}

void log_warning(const char* message) {
  std::fprintf(stderr, "onenet: warning: %s\n", message);
}

TcpTransport::TcpTransport(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}

TcpTransport::~TcpTransport() {
  close();
}

TcpTransport::TcpTransport(TcpTransport&& other) noexcept
    : host_(std::move(other.host_)),
      port_(other.port_),
      stream_gap_us_(other.stream_gap_us_),
      coalesce_delay_us_(other.coalesce_delay_us_),
      fd_(other.fd_) {
  other.fd_ = -1;
}

Status TcpTransport::open(uint32_t timeout_ms) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port_);
  if (::getaddrinfo(host_.c_str(), service.c_str(), &hints, &list) != 0 || list == nullptr) {
    return Status::kTransportResolveFailed;
  }
  const uint64_t deadline = monotonic_ms() + timeout_ms;
  Status status = Status::kTransportConnectFailed;
  for (const addrinfo* ai = list; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    const uint64_t now = monotonic_ms();
    if (now >= deadline) {
      status = Status::kTransportTimeout;
      break;
    }
    fd_ = connect_one(ai, static_cast<uint32_t>(deadline - now), cancel_fd_, &status);
    if (status == Status::kTransportCancelled) break;  // not the next address either
  }
  ::freeaddrinfo(list);
  return fd_ >= 0 ? Status::kOk : status;
}

int32_t TcpTransport::send(const uint8_t* data, size_t size) {
  if (fd_ < 0) return -1;
  const size_t chunk = size > INT32_MAX ? INT32_MAX : size;
  for (;;) {
    const ssize_t n = ::send(fd_, data, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<int32_t>(n);
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  }
}

int32_t TcpTransport::recv(uint8_t* data, size_t size) {
  if (fd_ < 0) return -1;
  const size_t chunk = size > INT32_MAX ? INT32_MAX : size;
  for (;;) {
    const ssize_t n = ::recv(fd_, data, chunk, MSG_DONTWAIT);
    if (n > 0) return static_cast<int32_t>(n);
    if (n == 0) return -1;  // orderly shutdown by the peer
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  }
}

Status TcpTransport::wait(uint32_t timeout_ms, bool for_write) {
  if (fd_ < 0) {  // nothing to wait on: just let the time pass (a backoff)
    ::poll(nullptr, 0, static_cast<int>(timeout_ms));
    return Status::kTransportTimeout;
  }
  if (for_write) {
    return wait_status(poll_fd(fd_, POLLIN | POLLOUT, timeout_ms));
  }
  constexpr uint8_t kStreamGaps = 3;  // short gaps between four arrivals
  if (short_gaps_ >= kStreamGaps && coalesce_delay_us_ > 0 && timeout_ms > 0) {
    const timespec delay{0, static_cast<long>(coalesce_delay_us_) * 1000};
    ::nanosleep(&delay, nullptr);
    if (poll_fd(fd_, POLLIN, 0) > 0) return Status::kOk;  // a batch gathered
    short_gaps_ = 0;                                      // the stream has stopped
  }
  const int r = poll_fd(fd_, POLLIN, timeout_ms);
  if (r > 0) {
    const uint32_t now = monotonic_us32();
    if (now - last_arrival_us_ >= stream_gap_us_) {
      short_gaps_ = 0;
    } else if (short_gaps_ < kStreamGaps) {
      ++short_gaps_;
    }
    last_arrival_us_ = now;
  }
  return wait_status(r);
}

void TcpTransport::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  short_gaps_ = 0;  // a new connection starts waking on every arrival
}

}  // namespace onenet::platform
