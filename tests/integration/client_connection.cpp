// Connecting to a real mosquitto: plain, TLS, refused credentials, refused certificates.
#include <doctest/doctest.h>

#include <algorithm>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using onenet::Status;
using onenet::client::State;
using onenet::platform::TlsOptions;
using onenet::platform::TlsTransport;

namespace {

std::unique_ptr<LiveClient> tls_client(uint16_t port, TlsOptions tls,
                                       const std::string& host = "127.0.0.1") {
  return std::make_unique<LiveClient>(std::make_unique<TlsTransport>(host, port, std::move(tls)),
                                      "tls-client");
}

// The name TLS verifies when the tests connect to 127.0.0.1: OpenSSL matches the certificate's
// IP address; mbedTLS 2.28 (an -DONENET_TLS=mbedtls build) matches DNS names only.
#if defined(ONENET_HAVE_OPENSSL_TLS)
constexpr const char* kBrokerName = "";  // the host, 127.0.0.1
#else
constexpr const char* kBrokerName = "localhost";
#endif

// A TLS client of `broker` (its CA from the file), connected.
std::unique_ptr<LiveClient> connected_tls_client(const Mosquitto& broker) {
  TlsOptions from_file;
  from_file.ca_file = broker.ca_file();
  from_file.server_name = kBrokerName;
  auto c = tls_client(broker.tls_port(), from_file);
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  return c;
}

}  // namespace

TEST_CASE("connect and disconnect over plain TCP") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto c = LiveClient::tcp(broker.port(), "plain");
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  REQUIRE(c->client().disconnect() == Status::kOk);
  CHECK(c->client().state() == State::kIdle);
  CHECK(c->states.back() == State::kIdle);
}

TEST_CASE("connect over TLS with the broker's CA, from a file and from memory") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  auto c = connected_tls_client(broker);  // CA from the file
  c->client().disconnect();

  TlsOptions from_memory;
  from_memory.ca_pem = broker.ca_pem();
  auto m = tls_client(broker.tls_port(), from_memory, "localhost");
  REQUIRE(m->connect() == Status::kOk);
  REQUIRE(m->poll_until([&] { return m->connected(); }));
}

TEST_CASE("a wrong password is refused with its own status") {
  Mosquitto broker({.password = true});
  REQUIRE(broker.start());
  auto c = LiveClient::tcp(broker.port(), "pw");
  c->log_in_as("user", "wrong");
  c->options.auto_reconnect = false;
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->client().state() == State::kIdle; }));
  // mosquitto 2.0 answers a bad password on MQTT 3.1.1 with CONNACK 5 (not authorized).
  CHECK(c->client().last_error() == Status::kClientConnackNotAuthorized);

  auto good = LiveClient::tcp(broker.port(), "pw2");
  good->log_in_as("user", "secret");
  REQUIRE(good->connect() == Status::kOk);
  CHECK(good->poll_until([&] { return good->connected(); }));
}

TEST_CASE("TLS refuses a server signed by another CA, and a name the certificate lacks") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  itest::TempDir other_dir;
  itest::TestPki other(other_dir);

  TlsOptions wrong_ca;
  wrong_ca.ca_file = other.ca_file;
  auto c = tls_client(broker.tls_port(), wrong_ca);
  c->options.auto_reconnect = false;
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->client().state() == State::kIdle; }));
  CHECK(c->client().last_error() == Status::kTlsVerifyFailed);

  TlsOptions wrong_name;
  wrong_name.ca_file = broker.ca_file();
  wrong_name.server_name = "not-the-broker.test";
  auto n = tls_client(broker.tls_port(), wrong_name);
  n->options.auto_reconnect = false;
  REQUIRE(n->connect() == Status::kOk);
  REQUIRE(n->poll_until([&] { return n->client().state() == State::kIdle; }));
  CHECK(n->client().last_error() == Status::kTlsVerifyFailed);

  TlsOptions no_ca;                               // verification on, but nothing to verify against
  auto z = tls_client(broker.tls_port(), no_ca);  // reconnecting: this would fail every time
  REQUIRE(z->connect() == Status::kOk);
  REQUIRE(z->poll_until([&] { return z->client().state() == State::kIdle; }));
  CHECK(z->client().last_error() == Status::kTlsCaLoadFailed);
  CHECK(std::count(z->states.begin(), z->states.end(), State::kBackoff) == 0);
}

#if defined(ONENET_HAVE_OPENSSL_TLS)
TEST_CASE("--insecure style TLS connects without verification (and says so)") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  TlsOptions insecure;
  insecure.insecure = true;
  auto c = tls_client(broker.tls_port(), insecure);
  REQUIRE(c->connect() == Status::kOk);
  CHECK(c->poll_until([&] { return c->connected(); }));
}
#else
TEST_CASE("an mbedTLS build refuses --insecure, client certificates and CA directories") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  TlsOptions insecure;
  insecure.insecure = true;
  TlsOptions client_cert;
  client_cert.ca_file = broker.ca_file();
  client_cert.cert_file = broker.ca_file();
  TlsOptions ca_dir;
  ca_dir.ca_dir = "/etc/ssl/certs";
  const std::pair<TlsOptions, Status> cases[] = {{insecure, Status::kTlsSetupFailed},
                                                 {client_cert, Status::kTlsSetupFailed},
                                                 {ca_dir, Status::kTlsCaLoadFailed}};
  for (const auto& [options, expected] : cases) {
    auto c = tls_client(broker.tls_port(), options, "localhost");
    c->options.auto_reconnect = false;
    REQUIRE(c->connect() == Status::kOk);
    REQUIRE(c->poll_until([&] { return c->client().state() == State::kIdle; }));
    CHECK(c->client().last_error() == expected);
  }
}
#endif

TEST_CASE("nothing listening: the transport's refusal is reported and retried") {
  const uint16_t port = itest::free_port();
  auto c = LiveClient::tcp(port, "nobody");
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->client().state() == State::kBackoff; }));
  CHECK(c->reasons.back() == Status::kTransportConnectFailed);
}

TEST_CASE("100 TLS reconnects: every cycle connects, nothing leaks (checked by ASan in CI)") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  TlsOptions tls;
  tls.ca_file = broker.ca_file();
  tls.server_name = kBrokerName;
  auto c = tls_client(broker.tls_port(), tls);
  REQUIRE(c->client().configure(c->options) == Status::kOk);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(c->client().start() == Status::kOk);
    REQUIRE(c->poll_until([&] { return c->connected(); }));
    REQUIRE(c->client().disconnect() == Status::kOk);
  }
  CHECK(c->connects == 100);
}

// A write to a socket whose peer is gone raises SIGPIPE, and its default action ends the
// process. The TCP transport sends with MSG_NOSIGNAL; TLS must not write around it.
TEST_CASE("the broker dies under a TLS publisher: the link is lost, the process lives on") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  auto c = connected_tls_client(broker);
  broker.kill_hard();
  // Publish without reading: the writes after the peer's reset are the ones that raise it.
  const std::string payload(512, 'x');
  for (int i = 0; i < 1000 && c->connected(); ++i) {
    (void)c->client().publish("gone", std::string_view(payload), onenet::codec::QoS::kAtMostOnce);
  }
  REQUIRE(c->poll_until([&] { return c->client().state() == State::kBackoff; }));
  CHECK(c->connects == 1);
}
