// For tests of connection attempts that hang.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace itest {

// A loopback listener that never answers. With `full`, its accept queue (backlog 0) is taken by
// one connection made here, so the kernel drops further SYNs and a connect to it hangs.
class SilentListener {
 public:
  explicit SilentListener(bool full) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(fd_, 0) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    if (!full) return;
    filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(::connect(filler_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~SilentListener() {
    if (accepted_ >= 0) ::close(accepted_);
    if (filler_ >= 0) ::close(filler_);
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  // Waits (bounded) until some socket of this machine is connecting to the listener (SYN_SENT
  // in /proc/net/tcp): a client is then inside its connect.
  bool wait_for_connect_attempt(int timeout_ms = 20000) const {
    char remote[16];
    std::snprintf(remote, sizeof remote, ":%04X 02 ", port_);  // remote port, then the state
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream table("/proc/net/tcp");
      for (std::string line; std::getline(table, line);) {
        if (line.find(remote) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // re-read the table
    }
    return false;
  }
  // Accepts one connection and waits (bounded) for its first bytes: the client is then in its
  // TLS handshake, waiting for an answer that never comes.
  bool accept_and_read_hello() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return false;
    accepted_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (accepted_ < 0) return false;
    pollfd q{accepted_, POLLIN, 0};
    if (::poll(&q, 1, 20000) != 1) return false;
    uint8_t hello[512];
    return ::recv(accepted_, hello, sizeof hello, 0) > 0;
  }

 private:
  int fd_ = -1;
  int filler_ = -1;
  int accepted_ = -1;
  uint16_t port_ = 0;
};

}  // namespace itest
