// The embedded TLS path on a host: MbedTlsTransport over TcpTransport to mosquitto's TLS
// listener, with a CA the tests mint. Built when mbedTLS is found (ONENET_HAVE_MBEDTLS_TLS).
#if defined(ONENET_HAVE_MBEDTLS_TLS)
#include <doctest/doctest.h>

#include <string>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"
#include "onenet/platform/mbedtls_transport.hpp"
#include "onenet/platform/system.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using onenet::Status;
using onenet::client::State;
using onenet::codec::QoS;

namespace {

// mbedTLS over TCP, shaped as the NativeTransport LiveClient drives (the socket is TCP's).
class MbedTlsOverTcp : public onenet::platform::NativeTransport {
 public:
  MbedTlsOverTcp(uint16_t port, std::string ca_pem, std::string server_name)
      : tcp_("127.0.0.1", port),
        ca_pem_(std::move(ca_pem)),
        server_name_(std::move(server_name)),
        tls_(tcp_, options()) {}

  Status open(uint32_t timeout_ms) override { return tls_.open(timeout_ms); }
  int32_t send(const uint8_t* data, size_t size) override { return tls_.send(data, size); }
  int32_t recv(uint8_t* data, size_t size) override { return tls_.recv(data, size); }
  Status wait(uint32_t timeout_ms, bool for_write) override {
    return tls_.wait(timeout_ms, for_write);
  }
  void close() override { tls_.close(); }
  int native_handle() const override { return tcp_.native_handle(); }
  bool has_buffered_input() const override { return tls_.has_buffered_input(); }

 private:
  onenet::platform::MbedTlsOptions options() {
    onenet::platform::MbedTlsOptions o;
    o.ca_pem = ca_pem_.empty() ? nullptr : ca_pem_.c_str();
    o.server_name = server_name_.c_str();
    o.random = onenet::platform::system_random;
    o.clock = &clock_;
    return o;
  }

  onenet::platform::SystemClock clock_;
  onenet::platform::TcpTransport tcp_;
  std::string ca_pem_;
  std::string server_name_;
  onenet::platform::MbedTlsTransport tls_;
};

std::unique_ptr<LiveClient> mbedtls_client(uint16_t port, const std::string& ca_pem,
                                           const std::string& server_name, const char* id,
                                           itest::Sizes sizes = {}) {
  return std::make_unique<LiveClient>(std::make_unique<MbedTlsOverTcp>(port, ca_pem, server_name),
                                      id, sizes);
}

// Waits for the client to give up (auto-reconnect off) and returns why.
Status refusal(LiveClient& c) {
  c.options.auto_reconnect = false;
  REQUIRE(c.connect() == Status::kOk);
  REQUIRE(c.poll_until([&] { return c.client().state() == State::kIdle; }));
  return c.client().last_error();
}

}  // namespace

TEST_CASE("mbedTLS over TCP: verified connect, QoS 1 round trips, a 200 KB message") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  itest::Sizes big;
  big.rx = big.tx = 300 * 1024;
  big.outbox = 600 * 1024;
  auto c = mbedtls_client(broker.tls_port(), broker.ca_pem(), "localhost", "mbedtls-1", big);
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  const onenet::codec::Subscription echo{"mbedtls/echo", QoS::kAtLeastOnce};
  REQUIRE(c->client().subscribe(&echo, 1) == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->subscribed == 1; }));

  std::string large(200 * 1024, '\0');
  for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>('a' + i % 26);
  const std::string payloads[] = {"one", "two", large, "after"};
  for (const std::string& p : payloads) {
    const auto sent = c->client().publish(
        "mbedtls/echo", onenet::ByteView(reinterpret_cast<const uint8_t*>(p.data()), p.size()),
        QoS::kAtLeastOnce);
    REQUIRE(sent.ok());
  }
  REQUIRE(c->poll_until([&] { return c->messages.size() == 4 && c->delivered == 4; }));
  for (size_t i = 0; i < 4; ++i) CHECK(c->messages[i] == payloads[i]);
  c->client().disconnect();
}

TEST_CASE("mbedTLS refuses another CA and a name the certificate lacks, and needs a CA") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  itest::TempDir other_dir;
  itest::TestPki other(other_dir);

  auto wrong_ca = mbedtls_client(broker.tls_port(), other.ca_pem, "localhost", "mbedtls-2");
  CHECK(refusal(*wrong_ca) == Status::kTlsVerifyFailed);
  auto wrong_name =
      mbedtls_client(broker.tls_port(), broker.ca_pem(), "not-the-broker.test", "mbedtls-3");
  CHECK(refusal(*wrong_name) == Status::kTlsVerifyFailed);
  auto no_ca = mbedtls_client(broker.tls_port(), "", "localhost", "mbedtls-4");
  CHECK(refusal(*no_ca) == Status::kTlsCaLoadFailed);
  auto garbage_ca =
      mbedtls_client(broker.tls_port(), "not a certificate", "localhost", "mbedtls-5");
  CHECK(refusal(*garbage_ca) == Status::kTlsCaLoadFailed);
}
#endif
