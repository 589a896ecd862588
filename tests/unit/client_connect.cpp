// The session engine: connecting, CONNACK codes, keep-alive, backoff, protocol errors.
#include "client_fixture.hpp"

using namespace client_test;
using onenet::Status;
using onenet::client::State;
using onenet::codec::PacketType;

TEST_CASE("connect sends the configured CONNECT and reports connected on CONNACK 0") {
  Harness h;
  h.options.connect.has_username = true;
  h.options.connect.username = "user";
  h.options.connect.has_password = true;
  h.options.connect.password = std::string_view("pw");
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  h.client.poll(0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].connect.client_id == "c1");
  CHECK(packets[0].connect.username == "user");
  CHECK(packets[0].connect.password.as_text() == "pw");
  CHECK(packets[0].connect.keep_alive_seconds == 10);
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});
  h.client.poll(0);
  CHECK(h.client.state() == State::kConnected);
  CHECK(h.handler.states ==
        std::vector<State>{State::kConnecting, State::kAwaitingConnack, State::kConnected});
}

TEST_CASE("each CONNACK refusal code has its own status, and the client backs off") {
  const Status expected[] = {Status::kClientConnackBadProtocol, Status::kClientConnackIdRejected,
                             Status::kClientConnackUnavailable,
                             Status::kClientConnackBadCredentials,
                             Status::kClientConnackNotAuthorized};
  for (uint8_t code = 1; code <= 5; ++code) {
    CAPTURE(code);
    Harness h;
    REQUIRE(h.client.configure(h.options) == Status::kOk);
    REQUIRE(h.client.start() == Status::kOk);
    h.client.poll(0);
    h.transport.deliver({0x20, 0x02, 0x00, code});
    h.client.poll(0);
    CHECK(h.client.state() == State::kBackoff);
    CHECK(h.handler.reasons.back() == expected[code - 1]);
    CHECK(h.client.last_error() == expected[code - 1]);
    CHECK_FALSE(h.transport.is_open);
  }
}

TEST_CASE("a transport that cannot open is retried after a backoff") {
  Harness h;
  h.transport.open_results = {Status::kTransportConnectFailed};
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  h.client.poll(0);
  CHECK(h.client.state() == State::kBackoff);
  CHECK(h.handler.reasons.back() == Status::kTransportConnectFailed);
  h.clock.now += h.client.next_timeout_ms();
  h.client.poll(0);
  CHECK(h.client.state() == State::kAwaitingConnack);
  CHECK(h.transport.opens == 2);
}

TEST_CASE("a transport that can never open (no CA to verify with) stops the client, unretried") {
  for (const Status setting : {Status::kTlsCaLoadFailed, Status::kInvalidArgument}) {
    CAPTURE(setting);
    Harness h;
    h.transport.open_results = {setting};
    REQUIRE(h.client.configure(h.options) == Status::kOk);
    REQUIRE(h.client.start() == Status::kOk);
    h.client.poll(0);
    // Before, the client backed off and failed the same way at every attempt, for good.
    CHECK(h.client.state() == State::kIdle);
    CHECK(h.client.last_error() == setting);
    CHECK(h.handler.reasons.back() == setting);
    h.client.poll(0);
    CHECK(h.transport.opens == 1);
    // Once the setting is mended, start() connects.
    REQUIRE(h.client.start() == Status::kOk);
    h.client.poll(0);
    CHECK(h.client.state() == State::kAwaitingConnack);
  }
}

namespace {

// Configures a 5-s connect timeout, starts, and sends the CONNECT: the client awaits CONNACK.
void start_with_connect_timeout(Harness& h) {
  h.options.connect_timeout_ms = 5000;
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  h.client.poll(0);
  REQUIRE(h.client.state() == State::kAwaitingConnack);
}

}  // namespace

TEST_CASE("no CONNACK within the connect timeout drops the attempt") {
  Harness h;
  start_with_connect_timeout(h);
  h.clock.now += 4999;
  h.client.poll(0);
  CHECK(h.client.state() == State::kAwaitingConnack);
  h.clock.now += 1;
  h.client.poll(0);
  CHECK(h.client.state() == State::kBackoff);
  CHECK(h.handler.reasons.back() == Status::kClientConnectTimeout);
}

TEST_CASE("an answer that came in time but is read late (the caller polled late) still counts") {
  Harness h;
  start_with_connect_timeout(h);
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});  // CONNACK waiting in the transport
  h.clock.now += 60000;                           // the next poll comes long after the deadline
  h.client.poll(0);
  CHECK(h.client.state() == State::kConnected);

  Harness late;
  late.connect();
  late.clock.now += 10000;  // keep-alive: PINGREQ
  late.client.poll(0);
  const auto packets = late.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kPingreq);
  late.transport.deliver({0xD0, 0x00});  // PINGRESP waiting
  late.clock.now += 60000;
  late.client.poll(0);
  CHECK(late.client.state() == State::kConnected);
  CHECK(late.handler.states.back() == State::kConnected);
}

namespace {

// Nothing is sent a millisecond before the keep-alive (10 s in Harness), then one PINGREQ.
void expect_pingreq_after_keep_alive(Harness& h) {
  h.clock.now += 9999;
  h.client.poll(0);
  CHECK(h.transport.take_packets().empty());
  CHECK(h.client.next_timeout_ms() == 1);
  h.clock.now += 1;
  h.client.poll(0);
  const auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kPingreq);
}

}  // namespace

TEST_CASE("keep-alive: PINGREQ after a keep-alive of silence, dead after the PINGRESP timeout") {
  Harness h;  // keep-alive 10 s, PINGRESP timeout defaults to 5 s
  h.connect();
  expect_pingreq_after_keep_alive(h);

  h.transport.deliver({0xD0, 0x00});  // PINGRESP
  h.client.poll(0);
  CHECK(h.client.state() == State::kConnected);

  // Next period: no answer this time.
  h.clock.now += 10000;
  h.client.poll(0);
  REQUIRE(h.transport.take_packets().size() == 1);
  h.clock.now += 4999;
  h.client.poll(0);
  CHECK(h.client.state() == State::kConnected);
  h.clock.now += 1;
  h.client.poll(0);
  CHECK(h.client.state() == State::kBackoff);
  CHECK(h.handler.reasons.back() == Status::kClientKeepAliveTimeout);
}

TEST_CASE(
    "keep-alive: a silent broker is declared dead within 1.5 x keep-alive even while we publish") {
  Harness h;
  h.connect();
  const uint64_t last_heard = h.clock.now;
  // Publishing every second keeps us sending; the broker says nothing back.
  while (h.client.state() == State::kConnected) {
    h.clock.now += 1000;
    (void)h.client.publish("t", std::string_view("x"), onenet::codec::QoS::kAtMostOnce);
    h.client.poll(0);
    REQUIRE(h.clock.now - last_heard <= 15000);
  }
  CHECK(h.handler.reasons.back() == Status::kClientKeepAliveTimeout);
  CHECK(h.clock.now - last_heard == 15000);
}

TEST_CASE("timers hold across the 32-bit millisecond wrap (49.7 days of uptime)") {
  Harness h;
  h.clock.now = (uint64_t{1} << 32) - 4000;  // 4 s before the wrap
  h.connect();
  expect_pingreq_after_keep_alive(h);  // the PINGREQ falls after the wrap
  // Backoff across the wrap: the drawn delay is waited out exactly.
  random_values() = {0xFFFFFFFFu};
  h.clock.now = (uint64_t{2} << 32) - 500;
  h.transport.dead = true;
  h.client.poll(0);
  REQUIRE(h.client.state() == State::kBackoff);
  const uint32_t delay = h.client.next_timeout_ms();
  CHECK(delay == 0xFFFFFFFFu % 1001);
  h.clock.now += delay - 1;
  h.client.poll(0);
  CHECK(h.client.state() == State::kBackoff);
  h.clock.now += 1;
  h.client.poll(0);
  CHECK(h.client.state() == State::kAwaitingConnack);
}

TEST_CASE("backoff: full jitter under a doubling ceiling, capped at the maximum") {
  Harness h;  // initial 1000 ms, max 8000 ms
  random_values() = {0xFFFFFFFFu};
  h.transport.open_results = std::deque<Status>(10, Status::kTransportConnectFailed);
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  const uint32_t ceilings[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (const uint32_t ceiling : ceilings) {
    CAPTURE(ceiling);
    h.client.poll(0);
    REQUIRE(h.client.state() == State::kBackoff);
    const uint32_t delay = h.client.next_timeout_ms();
    CHECK(delay <= ceiling);
    CHECK(delay == 0xFFFFFFFFu % (ceiling + 1));
    h.clock.now += delay;
  }
  // A random value of 0 gives no delay at all (full jitter's lower bound).
  random_values() = {0};
  h.client.poll(0);
  CHECK(h.client.next_timeout_ms() == 0);
  random_values() = {0xFFFFFFFFu};
}

TEST_CASE("backoff: a link that lasted 30 s starts the ceiling again, a shorter one does not") {
  Harness h;                                 // initial 1000 ms, max 8000 ms
  h.options.connect.keep_alive_seconds = 0;  // no PINGREQ to answer while the link lives
  random_values() = {0xFFFFFFFFu};
  // The delay that random value draws from [0, ceiling]: distinct for each ceiling below.
  const auto drawn = [](uint32_t ceiling) { return 0xFFFFFFFFu % (ceiling + 1); };
  h.connect();
  // Drops the link `lived_ms` after it came up; returns the delay drawn, then reconnects.
  const auto drop_after = [&h](uint64_t lived_ms) {
    h.clock.now += lived_ms;
    h.client.poll(0);
    REQUIRE(h.client.state() == State::kConnected);
    h.transport.dead = true;
    h.client.poll(0);
    REQUIRE(h.client.state() == State::kBackoff);
    const uint32_t delay = h.client.next_timeout_ms();
    h.clock.now += delay;
    h.client.poll(0);
    REQUIRE(h.client.state() == State::kAwaitingConnack);
    h.transport.take_packets();
    h.transport.deliver({0x20, 0x02, 0x00, 0x00});
    h.client.poll(0);
    REQUIRE(h.client.state() == State::kConnected);
    return delay;
  };
  // A link that keeps dropping soon after it came up (a broker refusing us after CONNACK, a
  // flapping network) is not hammered: the ceiling keeps doubling across the connections.
  CHECK(drop_after(1000) == drawn(1000));
  CHECK(drop_after(29999) == drawn(2000));
  CHECK(drop_after(1000) == drawn(4000));
  // One that held for 30 s was a working link: its loss starts again from the initial delay.
  CHECK(drop_after(30000) == drawn(1000));
  CHECK(drop_after(1000) == drawn(2000));
  random_values() = {0xFFFFFFFFu};
}

namespace {

// Renews its password before every attempt, as a OneNET device renews its token; or, once told
// to, makes the CONNECT one tx cannot hold.
class RenewingHandler : public RecordingHandler {
 public:
  void before_connect(onenet::codec::Connect& connect) override {
    ++calls;
    password = oversized ? std::string(4096, 'p') : "token-" + std::to_string(calls);
    connect.has_username = true;  // MQTT 3.1.1 sends no password without a user name
    connect.username = "device";
    connect.has_password = true;
    connect.password =
        onenet::ByteView(reinterpret_cast<const uint8_t*>(password.data()), password.size());
  }
  int calls = 0;
  bool oversized = false;
  std::string password;
};

}  // namespace

TEST_CASE("before_connect renews the CONNECT at every attempt; one it makes unsendable stops") {
  FakeClock clock;
  ScriptedTransport transport;
  RenewingHandler handler;
  onenet::client::StaticStorage<512, 512, 1024, 4, 256> storage;  // tx: 512 B
  onenet::client::Client client(transport, clock, scripted_random, storage.view(), handler);
  onenet::client::Options options;
  options.connect.client_id = "c1";
  options.connect.keep_alive_seconds = 0;
  REQUIRE(client.configure(options) == Status::kOk);
  REQUIRE(client.start() == Status::kOk);
  const auto attempt_password = [&] {
    while (client.state() != State::kAwaitingConnack && client.state() != State::kIdle) {
      clock.now += client.next_timeout_ms();
      client.poll(0);
    }
    const auto packets = transport.take_packets();
    REQUIRE(packets.size() == 1);
    REQUIRE(packets[0].type == PacketType::kConnect);
    return std::string(packets[0].connect.password.as_text());
  };
  CHECK(attempt_password() == "token-1");
  transport.deliver({0x20, 0x02, 0x00, 0x05});  // refused: not authorized
  client.poll(0);
  REQUIRE(client.state() == State::kBackoff);
  CHECK(attempt_password() == "token-2");  // a fresh one for the next attempt
  transport.deliver({0x20, 0x02, 0x00, 0x00});
  client.poll(0);
  REQUIRE(client.state() == State::kConnected);

  // The link drops; the CONNECT made for the next attempt does not fit tx. Sending it again
  // would fail the same way: the client stops and says why.
  handler.oversized = true;
  transport.dead = true;
  client.poll(0);
  REQUIRE(client.state() == State::kBackoff);
  const int opens = transport.opens;
  clock.now += client.next_timeout_ms();
  client.poll(0);
  CHECK(client.state() == State::kIdle);
  CHECK(client.last_error() == Status::kClientMessageTooLarge);
  CHECK(handler.reasons.back() == Status::kClientMessageTooLarge);
  CHECK_FALSE(transport.is_open);
  CHECK(transport.take_packets().empty());
  clock.now += 60000;
  client.poll(0);
  CHECK(transport.opens == opens + 1);  // that one attempt, and none after it
  CHECK(handler.calls == 3);
}

TEST_CASE("garbage from the broker is a protocol violation; so is PUBLISH before CONNACK") {
  Harness h;
  h.connect();
  h.transport.deliver({0xF0, 0x00});  // reserved packet type 15
  h.client.poll(0);
  CHECK(h.client.state() == State::kBackoff);
  CHECK(h.handler.reasons.back() == Status::kClientProtocolViolation);

  Harness early;
  REQUIRE(early.client.configure(early.options) == Status::kOk);
  REQUIRE(early.client.start() == Status::kOk);
  early.client.poll(0);
  early.transport.deliver(publish_frame("t", "x", onenet::codec::QoS::kAtMostOnce));
  early.client.poll(0);
  CHECK(early.handler.reasons.back() == Status::kClientProtocolViolation);
  CHECK(early.handler.messages.empty());
}

TEST_CASE("disconnect sends DISCONNECT, closes, and goes idle without reconnecting") {
  Harness h;
  h.connect();
  REQUIRE(h.client.disconnect() == Status::kOk);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kDisconnect);
  CHECK(h.client.state() == State::kIdle);
  CHECK_FALSE(h.transport.is_open);
  h.clock.now += 100000;
  h.client.poll(0);
  CHECK(h.transport.opens == 1);
}

TEST_CASE("configure validates storage and CONNECT fields") {
  Harness h;
  h.options.connect_timeout_ms = 0;
  CHECK(h.client.configure(h.options) == Status::kInvalidArgument);
  h.options.connect_timeout_ms = 1000;
  h.options.connect.has_password = true;  // password without user name
  CHECK(h.client.configure(h.options) == Status::kCodecBadConnectFlags);
  CHECK(h.client.start() == Status::kInvalidArgument);  // never configured

  // Offsets are 32-bit: a buffer over 4 GiB is refused (the view is never touched).
  onenet::client::Storage huge = h.storage->view();
  huge.outbox = onenet::MutableByteView(huge.outbox.data, size_t{1} << 33);
  onenet::client::Client big(h.transport, h.clock, scripted_random, huge, h.handler);
  h.options.connect.has_password = false;
  CHECK(big.configure(h.options) == Status::kInvalidArgument);
  CHECK(h.client.configure(h.options) == Status::kOk);
}
