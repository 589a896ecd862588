// The embedded TLS path on a host: MbedTlsTransport over TcpTransport to mosquitto's TLS
// listener, with a CA the tests mint, and fuse-ota for MCUs (ota::FuseOtaClient) through it to
// an HTTPS server (openssl s_server). Built when mbedTLS is found (ONENET_HAVE_MBEDTLS_TLS).
#if defined(ONENET_HAVE_MBEDTLS_TLS)
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <string>

#include "flash_slot.hpp"
#include "live_client.hpp"
#include "mosquitto_broker.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/platform/mbedtls_transport.hpp"
#include "onenet/platform/system.hpp"
#include "silent_listener.hpp"

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

TEST_CASE("mbedTLS: a handshake with a server that never answers ends at the open timeout") {
  itest::SilentListener listener(false);  // the connection is queued; nothing ever answers
  itest::TempDir dir;
  itest::TestPki pki(dir);
  MbedTlsOverTcp tls(listener.port(), pki.ca_pem, "localhost");
  CHECK(tls.open(300) == Status::kTransportTimeout);
  const uint8_t byte = 0;
  CHECK(tls.send(&byte, 1) < 0);  // closed, not half open
}

TEST_CASE("fuse-ota over mbedTLS: a package from an HTTPS server, resumed, and an untrusted one") {
  // openssl s_server -WWW serves the files under its directory (HTTP/1.0, to the close, and no
  // Range): the package sits where fuse-ota's download path points.
  itest::TempDir dir;
  itest::TestPki pki(dir);
  std::string package(100 * 1024 + 3, '\0');
  for (size_t i = 0; i < package.size(); ++i) package[i] = static_cast<char>((i * 131) >> 4);
  REQUIRE(itest::run({"mkdir", "-p", dir.file("www/fuse-ota/Pid/dev/7")}) == 0);
  std::ofstream(dir.file("www/fuse-ota/Pid/dev/7/download"), std::ios::binary) << package;
  const uint16_t port = itest::free_port();
  auto server = itest::Process::start({"sh", "-c",
                                       "cd \"$0\" && exec openssl s_server -WWW -accept \"$1\" "
                                       "-cert \"$2\" -key \"$3\" 2>/dev/null",
                                       dir.file("www"), "127.0.0.1:" + std::to_string(port),
                                       pki.server_cert, pki.server_key});
  REQUIRE(server);
  REQUIRE(server->wait_for_line([](const std::string& l) { return l == "ACCEPT"; }, 10000));

  onenet::ota::Task task;
  task.tid = 7;
  task.size = static_cast<uint32_t>(package.size());
  onenet::ota::Md5 whole;
  whole.update(reinterpret_cast<const uint8_t*>(package.data()), package.size());
  whole.hex_digest(task.md5);
  const onenet::ota::Caller device{"Pid", "dev", "version=2018-10-31&res=x&sign=y"};
  uint8_t buffer[1024];
  onenet::platform::SystemClock clock;

  MbedTlsOverTcp trusting(port, pki.ca_pem, "localhost");
  onenet::ota::FuseOtaClient ota(trusting, clock, onenet::MutableByteView(buffer, sizeof buffer));
  // A power cut after 30,000 bytes, then the rest: the server sends it all again (no Range),
  // and the bytes held are passed over.
  itest::FlashSlot flash;
  flash.cut_after = 30000;
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  CHECK(ota.download(device, task, &received, &digest, itest::FlashSlot::write, &flash) ==
        Status::kTransportIoError);
  REQUIRE(received == flash.bytes.size());
  REQUIRE(received >= 30000);
  flash.cut_after = SIZE_MAX;  // powered again
  CHECK(ota.download(device, task, &received, &digest, itest::FlashSlot::write, &flash) ==
        Status::kOk);
  CHECK(flash.in_order);
  CHECK(flash.bytes == package);

  itest::TempDir other_dir;
  itest::TestPki other(other_dir);
  MbedTlsOverTcp untrusting(port, other.ca_pem, "localhost");
  onenet::ota::FuseOtaClient refused(untrusting, clock,
                                     onenet::MutableByteView(buffer, sizeof buffer));
  received = 0;
  digest = onenet::ota::Md5();
  CHECK(refused.download(device, task, &received, &digest, itest::FlashSlot::write, &flash) ==
        Status::kTlsVerifyFailed);
  CHECK(received == 0);
  server->signal(SIGTERM);
  server->wait(10000);
}
#endif
