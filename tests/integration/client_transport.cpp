// The Linux TCP transport against a raw loopback peer: receive coalescing loses nothing,
// waits out silence, and never holds back the message that follows a stream. And opens that
// cannot succeed end, never hang: a connect whose SYNs are dropped and a TLS handshake with a
// silent peer at the timeout, a client certificate that cannot be loaded at once.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "onenet/platform/transport.hpp"
#include "silent_listener.hpp"

using onenet::Status;
using onenet::platform::TcpTransport;

namespace {

// A listening socket on 127.0.0.1 and the one connection it accepts.
class Peer {
 public:
  Peer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~Peer() {
    if (connection_ >= 0) ::close(connection_);
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  void accept() {
    connection_ = ::accept(listener_, nullptr, nullptr);
    REQUIRE(connection_ >= 0);
  }
  void send(const std::string& bytes) {
    REQUIRE(::send(connection_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }

 private:
  int listener_ = -1;
  int connection_ = -1;
  uint16_t port_ = 0;
};

// Reads until `count` bytes have come, waiting as a client would.
std::string receive(TcpTransport& transport, size_t count) {
  std::string got;
  while (got.size() < count) {
    REQUIRE(transport.wait(5000, false) == Status::kOk);
    char buffer[256];
    const int32_t n = transport.recv(reinterpret_cast<uint8_t*>(buffer), sizeof buffer);
    REQUIRE(n >= 0);
    got.append(buffer, static_cast<size_t>(n));
  }
  return got;
}

// `count` messages, each sent only after the last was read: one arrival per wait.
void exchange_one_by_one(Peer& peer, TcpTransport& transport, int count) {
  for (int i = 0; i < count; ++i) {
    peer.send("m" + std::to_string(i));
    CHECK(receive(transport, 2) == "m" + std::to_string(i));
  }
}

// Lockstep messages, then a burst, then silence, then one message: every byte in order each time.
void exchange_round(Peer& peer, TcpTransport& transport) {
  // One message per wait, in lockstep: after the fourth, coalescing waits sleep before they look.
  exchange_one_by_one(peer, transport, 8);
  // A burst while the reader is in a stream: every byte, in order.
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += static_cast<char>('a' + i % 26);
  for (int i = 0; i < 100; ++i) peer.send(burst.substr(static_cast<size_t>(i), 1));
  CHECK(receive(transport, burst.size()) == burst);
  // Silence: a coalescing sleep finds nothing and the wait runs to its timeout.
  CHECK(transport.wait(20, false) == Status::kTransportTimeout);
  // The message after the pause is delivered by the next wait.
  peer.send("after");
  CHECK(receive(transport, 5) == "after");
}

// Every arrival within 65 ms of the last counts as a stream, so the lockstep above is a stream
// whatever the machine's speed; `delay_us` is the coalescing sleep (0: off).
void open_to(Peer& peer, TcpTransport& transport, uint16_t delay_us) {
  transport.set_receive_coalescing(65535, delay_us);
  REQUIRE(transport.open(5000) == Status::kOk);
  peer.accept();
}

}  // namespace

TEST_CASE("receive coalescing: streams arrive whole, silence times out, the next byte wakes") {
  Peer peer;
  TcpTransport transport("127.0.0.1", peer.port());
  open_to(peer, transport, 2000);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    exchange_round(peer, transport);
  }
  transport.close();
}

TEST_CASE("receive coalescing off: the same exchanges") {
  Peer peer;
  TcpTransport transport("127.0.0.1", peer.port());
  open_to(peer, transport, 0);
  exchange_round(peer, transport);
}

TEST_CASE("a TLS handshake with a server that never answers ends at the open timeout") {
  itest::SilentListener listener(false);  // the connection is queued; nothing ever answers
  onenet::platform::TlsOptions tls;
  tls.ca_file = ONENET_SOURCE_DIR "/platform/certs/onenet-mqtts-ca.pem";
  onenet::platform::TlsTransport transport("127.0.0.1", listener.port(), tls);
  CHECK(transport.open(300) == Status::kTransportTimeout);
  const uint8_t byte = 0;
  CHECK(transport.send(&byte, 1) < 0);  // closed, not half open
}

TEST_CASE("a TCP connect to a listener that drops every SYN ends at the open timeout") {
  itest::SilentListener listener(true);  // its accept queue is full: the kernel drops our SYNs
  TcpTransport transport("127.0.0.1", listener.port());
  CHECK(transport.open(300) == Status::kTransportTimeout);
  const uint8_t byte = 0;
  CHECK(transport.send(&byte, 1) < 0);
}

TEST_CASE("a client certificate that cannot be loaded fails the set-up, before any connection") {
  // A connect to this listener would hang to the timeout: the set-up's verdict shows it was not
  // made.
  itest::SilentListener listener(true);
  onenet::platform::TlsOptions tls;
  tls.ca_file = ONENET_SOURCE_DIR "/platform/certs/onenet-mqtts-ca.pem";
  tls.cert_file = "/nonexistent/client.pem";
  onenet::platform::TlsTransport transport("127.0.0.1", listener.port(), tls);
  CHECK(transport.open(2000) == Status::kTlsSetupFailed);
  CHECK(transport.open(2000) == Status::kTlsSetupFailed);  // the same at every attempt
}
