// The session engine: publishing, acknowledgements, retransmission, inbound QoS, subscriptions.
#include "client_fixture.hpp"

using namespace client_test;
using onenet::Status;
using onenet::client::State;
using onenet::codec::PacketType;
using onenet::codec::QoS;

TEST_CASE("partial writes, zero returns and one-byte reads lose and reorder nothing") {
  Harness h;
  h.transport.send_chunk = 3;
  h.transport.send_zero_every_other = true;
  h.transport.recv_chunk = 1;
  h.transport.recv_zero_every_other = true;
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  for (int i = 0; i < 50 && h.transport.take_packets().empty(); ++i) h.client.poll(0);
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});
  for (int i = 0; i < 50 && h.client.state() != State::kConnected; ++i) h.client.poll(0);
  REQUIRE(h.client.state() == State::kConnected);

  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    const std::string payload = "message-" + std::to_string(i);
    Status s;
    while ((s = h.client.publish("t/x", std::string_view(payload), QoS::kAtMostOnce).status()) ==
           Status::kClientBusy) {
      h.client.poll(0);
    }
    REQUIRE(s == Status::kOk);
    expected.push_back(payload);
    h.transport.deliver(publish_frame("in/y", payload.c_str(), QoS::kAtMostOnce));
  }
  for (int i = 0; i < 2000 && (h.handler.messages.size() < 20 || !h.transport.inbound.empty());
       ++i) {
    h.client.poll(0);
  }
  std::vector<std::string> sent;
  for (const auto& p : h.transport.take_packets()) sent.emplace_back(p.publish.payload.as_text());
  CHECK(sent == expected);
  REQUIRE(h.handler.messages.size() == 20);
  for (size_t i = 0; i < 20; ++i) CHECK(h.handler.messages[i] == "in/y=" + expected[i]);
}

TEST_CASE("QoS 1 publish completes on PUBACK") {
  Harness h;
  h.connect();
  const auto id = h.client.publish("t", std::string_view("a"), QoS::kAtLeastOnce);
  REQUIRE(id.ok());
  CHECK(id.value() != 0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].publish.qos == QoS::kAtLeastOnce);
  CHECK(packets[0].packet_id == id.value());
  CHECK(h.client.inflight_count() == 1);
  h.transport.deliver(ack_frame(PacketType::kPuback, id.value()));
  h.client.poll(0);
  CHECK(h.client.inflight_count() == 0);
  REQUIRE(h.handler.delivered.size() == 1);
  CHECK(h.handler.delivered[0].id == id.value());
  CHECK(h.handler.delivered[0].status == Status::kOk);
}

TEST_CASE("QoS 2 publish: PUBREC -> PUBREL -> PUBCOMP") {
  Harness h;
  h.connect();
  const uint16_t id = h.client.publish("t", std::string_view("a"), QoS::kExactlyOnce).value();
  REQUIRE(h.transport.take_packets().size() == 1);
  h.transport.deliver(ack_frame(PacketType::kPubrec, id));
  h.client.poll(0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kPubrel);
  CHECK(packets[0].packet_id == id);
  CHECK(h.handler.delivered.empty());
  h.transport.deliver(ack_frame(PacketType::kPubcomp, id));
  h.client.poll(0);
  REQUIRE(h.handler.delivered.size() == 1);
  CHECK(h.client.inflight_count() == 0);
}

TEST_CASE("resumed session: unacknowledged PUBLISH resent with DUP and same id, PUBREL resent") {
  Harness h;
  h.options.connect.clean_session = false;
  h.connect();
  const uint16_t a = h.client.publish("t", std::string_view("a"), QoS::kAtLeastOnce).value();
  const uint16_t b = h.client.publish("t", std::string_view("b"), QoS::kExactlyOnce).value();
  const uint16_t c = h.client.publish("t", std::string_view("c"), QoS::kExactlyOnce).value();
  h.transport.deliver(ack_frame(PacketType::kPubrec, c));
  h.client.poll(0);
  h.transport.take_packets();

  h.reconnect(true);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 3);
  CHECK(packets[0].type == PacketType::kPublish);
  CHECK(packets[0].packet_id == a);
  CHECK(packets[0].publish.dup);
  CHECK(packets[0].publish.payload.as_text() == "a");
  CHECK(packets[1].type == PacketType::kPublish);
  CHECK(packets[1].packet_id == b);
  CHECK(packets[1].publish.dup);
  CHECK(packets[2].type == PacketType::kPubrel);
  CHECK(packets[2].packet_id == c);
  CHECK(h.handler.delivered.empty());
}

TEST_CASE("lost session with RequeuePolicy::kResend: resent as new messages, PUBREC'd ones done") {
  Harness h;
  h.connect();
  const uint16_t a = h.client.publish("t", std::string_view("a"), QoS::kAtLeastOnce).value();
  const uint16_t b = h.client.publish("t", std::string_view("b"), QoS::kExactlyOnce).value();
  h.transport.deliver(ack_frame(PacketType::kPubrec, b));
  h.client.poll(0);
  h.transport.take_packets();
  h.reconnect(false);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].packet_id == a);
  CHECK_FALSE(packets[0].publish.dup);
  REQUIRE(h.handler.delivered.size() == 1);
  CHECK(h.handler.delivered[0].id == b);
  CHECK(h.handler.delivered[0].status == Status::kOk);
}

TEST_CASE("lost session with RequeuePolicy::kDrop: each unacknowledged message is reported lost") {
  Harness h;
  h.options.requeue = onenet::client::RequeuePolicy::kDrop;
  h.connect();
  const uint16_t a = h.client.publish("t", std::string_view("a"), QoS::kAtLeastOnce).value();
  h.transport.take_packets();
  h.reconnect(false);
  CHECK(h.transport.take_packets().empty());
  REQUIRE(h.handler.delivered.size() == 1);
  CHECK(h.handler.delivered[0].id == a);
  CHECK(h.handler.delivered[0].status == Status::kClientSessionLost);
  CHECK(h.client.inflight_count() == 0);
}

TEST_CASE("QoS 1 while disconnected is kept and sent after connecting; QoS 0 is refused") {
  Harness h;
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  CHECK(h.client.publish("t", std::string_view("x"), QoS::kAtMostOnce).status() ==
        Status::kClientNotConnected);
  const uint16_t id = h.client.publish("t", std::string_view("early"), QoS::kAtLeastOnce).value();
  REQUIRE(h.client.start() == Status::kOk);
  h.client.poll(0);
  h.transport.take_packets();
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});
  h.client.poll(0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].packet_id == id);
  CHECK(packets[0].publish.payload.as_text() == "early");
}

TEST_CASE("the in-flight table and the outbox have hard limits") {
  Harness h;  // 8 in-flight entries, 4 KB outbox, 2 KB tx
  h.connect();
  for (int i = 0; i < 8; ++i)
    REQUIRE(h.client.publish("t", std::string_view("x"), QoS::kAtLeastOnce).ok());
  CHECK(h.client.publish("t", std::string_view("x"), QoS::kAtLeastOnce).status() ==
        Status::kClientInflightFull);
  const std::string big(5000, 'b');  // larger than the outbox: never, at any QoS
  CHECK(h.client.publish("t", std::string_view(big), QoS::kAtMostOnce).status() ==
        Status::kClientMessageTooLarge);
  CHECK(h.client.publish("t", std::string_view(big), QoS::kAtLeastOnce).status() ==
        Status::kClientMessageTooLarge);
  // A QoS 0 message larger than tx needs an in-flight slot while it waits.
  const std::string large(3000, 'l');
  CHECK(h.client.publish("t", std::string_view(large), QoS::kAtMostOnce).status() ==
        Status::kClientInflightFull);
}

// A client on the fakes with buffers of the given sizes (4 in-flight slots, 256-B table).
template <size_t Rx, size_t Tx, size_t Outbox>
struct SizedHarness {
  FakeClock clock;
  ScriptedTransport transport;
  RecordingHandler handler;
  onenet::client::StaticStorage<Rx, Tx, Outbox, 4, 256> storage;
  onenet::client::Client client{transport, clock, scripted_random, storage.view(), handler};
  onenet::client::Options options;
  SizedHarness() { options.connect.client_id = "c1"; }
};

// A client whose tx holds control packets and small frames only (64 B), its outbox 4 KB.
using SmallTxHarness = SizedHarness<512, 64, 4096>;

TEST_CASE("frames larger than tx leave from the outbox, at every QoS, in order with tx") {
  SmallTxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  h.transport.send_chunk = 100;  // every frame leaves in pieces, some sends take nothing
  h.transport.send_zero_every_other = true;
  const std::string big0(1000, '0'), big1(1000, '1'), big2(700, '2');
  const auto id1 = h.client.publish("t/big", std::string_view(big1), QoS::kAtLeastOnce);
  REQUIRE(id1.ok());
  // An inbound QoS 1 message while the big frame is under way: its PUBACK waits for the frame.
  h.transport.deliver(publish_frame("in", "x", QoS::kAtLeastOnce, 7));
  h.client.poll(0);
  REQUIRE(h.transport.inbound.empty());
  REQUIRE(h.transport.sent.size() < big1.size());
  const auto small = h.client.publish("t/small", std::string_view("s"), QoS::kAtLeastOnce);
  const auto qos0 = h.client.publish("t/big0", std::string_view(big0), QoS::kAtMostOnce);
  const auto id2 = h.client.publish("t/big", std::string_view(big2), QoS::kExactlyOnce);
  REQUIRE(small.ok());
  REQUIRE(qos0.ok());
  CHECK(qos0.value() == 0);
  REQUIRE(id2.ok());
  for (int i = 0; i < 100; ++i) h.client.poll(0);
  CHECK(h.handler.messages == std::vector<std::string>{"in=x"});

  const auto packets = h.transport.take_packets();
  CHECK(h.transport.sent.empty());  // nothing left half-sent
  REQUIRE(packets.size() == 5);
  CHECK((packets[0].type == PacketType::kPublish && packets[0].packet_id == id1.value()));
  CHECK(packets[0].publish.payload.as_text() == big1);
  CHECK((packets[1].type == PacketType::kPuback && packets[1].packet_id == 7));
  CHECK((packets[2].type == PacketType::kPublish && packets[2].packet_id == small.value()));
  CHECK((packets[3].type == PacketType::kPublish && packets[3].publish.topic == "t/big0"));
  CHECK(packets[3].publish.qos == QoS::kAtMostOnce);
  CHECK(packets[3].publish.payload.as_text() == big0);
  CHECK((packets[4].type == PacketType::kPublish && packets[4].packet_id == id2.value()));
  CHECK(packets[4].publish.payload.as_text() == big2);
  CHECK(packets[4].publish.qos == QoS::kExactlyOnce);

  h.transport.deliver(ack_frame(PacketType::kPuback, id1.value()));
  h.transport.deliver(ack_frame(PacketType::kPuback, small.value()));
  h.client.poll(0);
  CHECK(h.client.inflight_count() == 1);  // the QoS 2 message; the QoS 0 one is forgotten
  CHECK(h.client.state() == State::kConnected);
}

TEST_CASE("a QoS 0 message larger than tx that the link took down with it is not sent again") {
  SmallTxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  h.transport.send_chunk = 0;  // the link takes nothing, then dies
  const std::string big(1000, 'z');
  const auto sent = h.client.publish("t/big0", std::string_view(big), QoS::kAtMostOnce);
  REQUIRE(sent.ok());
  CHECK(h.client.inflight_count() == 1);  // waiting in the outbox
  h.transport.dead = true;
  h.client.poll(0);
  REQUIRE(h.client.state() == State::kBackoff);
  h.transport.send_chunk = SIZE_MAX;
  h.clock.now += h.client.next_timeout_ms();
  h.client.poll(0);
  REQUIRE(h.transport.take_packets().size() == 1);  // CONNECT
  h.transport.deliver({0x20, 0x02, 0x01, 0x00});
  for (int i = 0; i < 5; ++i) h.client.poll(0);
  REQUIRE(h.client.state() == State::kConnected);
  CHECK(h.transport.take_packets().empty());  // at most once
  CHECK(h.client.inflight_count() == 0);
  CHECK(h.handler.delivered.empty());  // QoS 0 has no delivery report
}

TEST_CASE("QoS 0 messages keep publish order when one of them has to wait in the outbox") {
  SmallTxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  h.transport.send_chunk = 0;  // the link is stalled: "a" stays in tx, so "B" cannot start
  const std::string big(1000, 'B');
  REQUIRE(h.client.publish("t", std::string_view("a"), QoS::kAtMostOnce).ok());
  REQUIRE(h.client.publish("t", std::string_view(big), QoS::kAtMostOnce).ok());
  REQUIRE(h.client.publish("t", std::string_view("c"), QoS::kAtMostOnce).ok());
  h.transport.send_chunk = SIZE_MAX;
  for (int i = 0; i < 5; ++i) h.client.poll(0);
  const auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 3);
  CHECK(packets[0].publish.payload.as_text() == "a");
  CHECK(packets[1].publish.payload.as_text() == big);
  CHECK(packets[2].publish.payload.as_text() == "c");
  CHECK(h.client.inflight_count() == 0);
}

TEST_CASE("a frame cut off mid-send from the outbox goes again whole, with DUP, after reconnect") {
  SmallTxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  h.transport.send_chunk = 300;
  h.transport.send_zero_every_other = true;
  const std::string big(1000, 'b');
  const auto id = h.client.publish("t/big", std::string_view(big), QoS::kAtLeastOnce);
  REQUIRE(id.ok());
  h.client.poll(0);
  REQUIRE(!h.transport.sent.empty());
  REQUIRE(h.transport.sent.size() < big.size());  // part of the frame is out
  h.transport.dead = true;
  h.client.poll(0);
  REQUIRE(h.client.state() == State::kBackoff);
  h.transport.sent.clear();
  h.clock.now += h.client.next_timeout_ms();
  h.client.poll(0);
  REQUIRE(h.client.state() == State::kAwaitingConnack);
  for (int i = 0; i < 20 && h.transport.take_packets().empty(); ++i) h.client.poll(0);
  h.transport.deliver({0x20, 0x02, 0x01, 0x00});  // session present
  for (int i = 0; i < 50; ++i) h.client.poll(0);
  REQUIRE(h.client.state() == State::kConnected);
  const auto packets = h.transport.take_packets();
  CHECK(h.transport.sent.empty());
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].packet_id == id.value());
  CHECK(packets[0].publish.dup);
  CHECK(packets[0].publish.payload.as_text() == big);
}

TEST_CASE("while a frame leaves from the outbox, stored frames stay put; a full outbox waits") {
  SmallTxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  const std::string big(1900, 'b');
  const auto first = h.client.publish("t/a", std::string_view(big), QoS::kAtLeastOnce);
  REQUIRE(first.ok());
  h.transport.send_chunk = 500;  // the second frame leaves in part, then the link stalls
  h.transport.send_zero_every_other = true;
  const auto second = h.client.publish("t/b", std::string_view(big), QoS::kAtLeastOnce);
  REQUIRE(second.ok());
  h.transport.send_chunk = 0;
  h.transport.deliver(ack_frame(PacketType::kPuback, first.value()));
  h.client.poll(0);
  REQUIRE(h.client.inflight_count() == 1);
  // The outbox has room at its front now, but the frame being sent must not move.
  CHECK(h.client.publish("t/c", std::string_view(big), QoS::kAtLeastOnce).status() ==
        Status::kClientInflightFull);
  h.transport.send_chunk = SIZE_MAX;
  h.transport.send_zero_every_other = false;
  h.client.poll(0);
  const auto third = h.client.publish("t/c", std::string_view(big), QoS::kAtLeastOnce);
  REQUIRE(third.ok());
  h.client.poll(0);
  const auto packets = h.transport.take_packets();
  CHECK(h.transport.sent.empty());
  REQUIRE(packets.size() == 3);
  CHECK(packets[1].packet_id == second.value());
  CHECK(packets[1].publish.topic == "t/b");
  CHECK(packets[1].publish.payload.as_text() == big);
  CHECK(packets[2].packet_id == third.value());
  CHECK(packets[2].publish.topic == "t/c");
  CHECK(packets[2].publish.payload.as_text() == big);
}

TEST_CASE("a frame acknowledged before it has left the outbox is still sent whole") {
  SmallTxHarness h;  // a broken broker: it acknowledges what it has not received yet
  connect_scripted(h.client, h.transport, h.options);
  h.transport.send_chunk = 200;
  h.transport.send_zero_every_other = true;
  const std::string first(900, 'f'), second(900, 's');
  const auto id = h.client.publish("t/1", std::string_view(first), QoS::kAtLeastOnce);
  REQUIRE(id.ok());
  h.transport.deliver(ack_frame(PacketType::kPuback, id.value()));
  h.client.poll(0);
  REQUIRE(h.client.inflight_count() == 0);
  REQUIRE(h.transport.sent.size() < first.size());  // still leaving
  const auto next = h.client.publish("t/2", std::string_view(second), QoS::kAtLeastOnce);
  REQUIRE(next.ok());
  for (int i = 0; i < 50; ++i) h.client.poll(0);
  const auto packets = h.transport.take_packets();
  CHECK(h.transport.sent.empty());
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].publish.payload.as_text() == first);
  CHECK(packets[1].publish.payload.as_text() == second);
  CHECK(packets[1].packet_id == next.value());
}

TEST_CASE("packet ids skip 0 and ids still in flight") {
  Harness h;
  h.connect();
  std::vector<uint16_t> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(h.client.publish("t", std::string_view("x"), QoS::kAtLeastOnce).value());
  for (size_t i = 1; i < ids.size(); ++i) CHECK(ids[i] != ids[i - 1]);
  for (const uint16_t id : ids) CHECK(id != 0);
}

TEST_CASE("inbound QoS 1 is delivered and acknowledged") {
  Harness h;
  h.connect();
  h.transport.deliver(publish_frame("in", "one", QoS::kAtLeastOnce, 77));
  h.client.poll(0);
  CHECK(h.handler.messages == std::vector<std::string>{"in=one"});
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kPuback);
  CHECK(packets[0].packet_id == 77);
}

TEST_CASE("a message longer than rx is acknowledged, reported and skipped; the link stays up") {
  Harness h;  // rx: 2 KB
  h.connect();
  const std::string big(5000, 'x');
  const std::string too_large = onenet::to_string(Status::kClientMessageTooLarge);
  h.transport.deliver(publish_frame("big/1", big.c_str(), QoS::kAtLeastOnce, 41));
  h.transport.deliver(publish_frame("big/0", big.c_str(), QoS::kAtMostOnce));
  h.transport.deliver(publish_frame("big/2", big.c_str(), QoS::kExactlyOnce, 43));
  h.transport.deliver(publish_frame("big/2", big.c_str(), QoS::kExactlyOnce, 43, true));  // again
  h.transport.deliver(publish_frame("small", "ok", QoS::kAtLeastOnce, 44));
  for (int i = 0; i < 10; ++i) h.client.poll(0);

  CHECK(h.handler.dropped ==
        std::vector<std::string>{"big/1:" + too_large, "big/0:" + too_large, "big/2:" + too_large});
  CHECK(h.handler.messages == std::vector<std::string>{"small=ok"});
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 4);  // nothing for QoS 0; the QoS 2 duplicate gets PUBREC again
  CHECK((packets[0].type == PacketType::kPuback && packets[0].packet_id == 41));
  CHECK((packets[1].type == PacketType::kPubrec && packets[1].packet_id == 43));
  CHECK((packets[2].type == PacketType::kPubrec && packets[2].packet_id == 43));
  CHECK((packets[3].type == PacketType::kPuback && packets[3].packet_id == 44));
  CHECK(h.client.state() == onenet::client::State::kConnected);
  CHECK(h.handler.states.back() == onenet::client::State::kConnected);  // never dropped
}

TEST_CASE("a QoS 1 message whose topic does not fit rx cannot be acknowledged: the link drops") {
  FakeClock clock;
  ScriptedTransport transport;
  RecordingHandler handler;
  onenet::client::StaticStorage<32, 512, 1024, 4, 256> storage;
  onenet::client::Client client(transport, clock, scripted_random, storage.view(), handler);
  onenet::client::Options options;
  options.connect.client_id = "c1";
  connect_scripted(client, transport, options);
  const std::string topic(100, 't');
  transport.deliver(publish_frame(topic.c_str(), "p", QoS::kAtLeastOnce, 9));
  for (int i = 0; i < 10 && client.state() == onenet::client::State::kConnected; ++i) {
    client.poll(0);
  }
  CHECK(client.state() == onenet::client::State::kBackoff);
  CHECK(client.last_error() == Status::kClientMessageTooLarge);
  CHECK(handler.dropped.empty());
}

// rx of 48 B: a topic, an id and some payload fit; none of the messages below does.
struct SmallRxHarness : SizedHarness<48, 256, 1024> {
  SmallRxHarness() { options.large_messages_in_parts = true; }
};

// Each part's payload equals the message's bytes at its offset: a payload whose every byte says
// where it is shows a lost, repeated or reordered byte.
std::string counting_payload(size_t size) {
  std::string payload(size, '\0');
  for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  return payload;
}

TEST_CASE("with large_messages_in_parts, a message longer than rx arrives in parts, in order") {
  SmallRxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  const std::string big = counting_payload(1000);
  for (const size_t chunk : {size_t{1}, size_t{7}, size_t{48}, SIZE_MAX}) {
    CAPTURE(chunk);
    h.handler.parts.clear();
    h.handler.part_bytes.clear();
    h.handler.messages.clear();
    h.transport.recv_chunk = chunk;
    const Bytes frame = publish_frame("in/big", big.c_str(), QoS::kAtLeastOnce, 21);
    // All but the last byte: every part but the last is delivered, and no PUBACK leaves yet.
    h.transport.deliver(Bytes(frame.begin(), frame.end() - 1));
    for (int i = 0; i < 2000 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
    REQUIRE(h.transport.inbound.empty());
    CHECK(h.transport.take_packets().empty());
    CHECK(h.handler.part_bytes == big.substr(0, big.size() - 1));
    // The last byte, then a small message right behind it in the same read.
    Bytes rest(frame.end() - 1, frame.end());
    const Bytes small = publish_frame("in/small", "ok", QoS::kAtMostOnce);
    rest.insert(rest.end(), small.begin(), small.end());
    h.transport.deliver(rest);
    // No poll after the last read: what it brought is dispatched by the poll that read it.
    for (int i = 0; i < 100 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
    CHECK(h.handler.part_bytes == big);
    CHECK(h.handler.messages_from_parts() == std::vector<std::string>{"in/big:1000"});
    CHECK(h.handler.parts.back().size == 1);
    CHECK(h.handler.messages == std::vector<std::string>{"in/small=ok"});
    const auto packets = h.transport.take_packets();
    REQUIRE(packets.size() == 1);
    CHECK((packets[0].type == PacketType::kPuback && packets[0].packet_id == 21));
  }
  CHECK(h.client.state() == onenet::client::State::kConnected);
}

TEST_CASE("in parts, a message whose head fills rx leaves no room for a part: acked and skipped") {
  SmallRxHarness h;  // rx: 48 B
  connect_scripted(h.client, h.transport, h.options);
  const std::string payload = counting_payload(1000);
  // 1 type byte + 2 length bytes + 2 + 41 topic bytes + a 2-byte id: the head is all of rx.
  const std::string filling(41, 'f');
  const std::string fitting(40, 'g');  // one byte shorter: parts of one byte each
  h.transport.deliver(publish_frame(filling.c_str(), payload.c_str(), QoS::kAtLeastOnce, 31));
  h.transport.deliver(publish_frame(fitting.c_str(), payload.c_str(), QoS::kAtLeastOnce, 32));
  for (int i = 0; i < 5000 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
  REQUIRE(h.transport.inbound.empty());
  CHECK(
      h.handler.dropped ==
      std::vector<std::string>{filling + ":" + onenet::to_string(Status::kClientMessageTooLarge)});
  CHECK(h.handler.messages_from_parts() == std::vector<std::string>{fitting + ":1000"});
  CHECK(h.handler.part_bytes == payload);
  const auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 2);
  CHECK((packets[0].type == PacketType::kPuback && packets[0].packet_id == 31));
  CHECK((packets[1].type == PacketType::kPuback && packets[1].packet_id == 32));
  CHECK(h.client.state() == onenet::client::State::kConnected);
}

TEST_CASE("messages in parts: QoS 0 and QoS 2, a QoS 2 duplicate delivered once") {
  SmallRxHarness h;
  connect_scripted(h.client, h.transport, h.options);
  h.transport.recv_chunk = 30;
  const std::string zero = counting_payload(300), two = counting_payload(200);
  h.transport.deliver(publish_frame("in/0", zero.c_str(), QoS::kAtMostOnce));
  h.transport.deliver(publish_frame("in/2", two.c_str(), QoS::kExactlyOnce, 8));
  h.transport.deliver(publish_frame("in/2", two.c_str(), QoS::kExactlyOnce, 8, true));  // again
  for (int i = 0; i < 100 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
  CHECK(h.handler.messages_from_parts() == std::vector<std::string>{"in/0:300", "in/2:200"});
  CHECK(h.handler.part_bytes == zero + two);
  const auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 2);  // nothing for QoS 0; the duplicate gets PUBREC again
  CHECK((packets[0].type == PacketType::kPubrec && packets[0].packet_id == 8));
  CHECK((packets[1].type == PacketType::kPubrec && packets[1].packet_id == 8));
  CHECK(h.handler.dropped.empty());
}

TEST_CASE("a message in parts cut off by a lost link comes again whole after the reconnect") {
  SmallRxHarness h;
  h.options.backoff_initial_ms = 1000;
  connect_scripted(h.client, h.transport, h.options);
  const std::string big = counting_payload(500);
  const Bytes frame = publish_frame("in/big", big.c_str(), QoS::kAtLeastOnce, 3);
  h.transport.deliver(Bytes(frame.begin(), frame.begin() + 200));
  for (int i = 0; i < 10 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
  REQUIRE(!h.handler.parts.empty());
  CHECK(h.handler.parts.back().offset + h.handler.parts.back().size < big.size());
  h.transport.dead = true;
  h.client.poll(0);
  REQUIRE(h.client.state() == onenet::client::State::kBackoff);
  CHECK(h.transport.take_packets().empty());  // never acknowledged
  h.handler.parts.clear();
  h.handler.part_bytes.clear();

  h.clock.now += h.client.next_timeout_ms();
  h.client.poll(0);
  REQUIRE(h.client.state() == onenet::client::State::kAwaitingConnack);
  h.transport.take_packets();
  h.transport.deliver({0x20, 0x02, 0x01, 0x00});  // session resumed: the broker sends it again
  h.transport.deliver(publish_frame("in/big", big.c_str(), QoS::kAtLeastOnce, 3, true));
  for (int i = 0; i < 10 && !h.transport.inbound.empty(); ++i) h.client.poll(0);
  CHECK(h.handler.messages_from_parts() == std::vector<std::string>{"in/big:500"});
  CHECK(h.handler.part_bytes == big);
  const auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK((packets[0].type == PacketType::kPuback && packets[0].packet_id == 3));
}

TEST_CASE("a handler may disconnect in the middle of a message in parts") {
  SmallRxHarness h;
  struct DisconnectingHandler : RecordingHandler {
    onenet::client::Client* client = nullptr;
    void on_message(const onenet::client::Message& m) override {
      RecordingHandler::on_message(m);
      if (m.offset > 0) client->disconnect(0);
    }
  } handler;
  onenet::client::Client client{h.transport, h.clock, scripted_random, h.storage.view(), handler};
  handler.client = &client;
  connect_scripted(client, h.transport, h.options);
  h.transport.recv_chunk = 40;
  const std::string big = counting_payload(400);
  h.transport.deliver(publish_frame("in/big", big.c_str(), QoS::kAtLeastOnce, 5));
  for (int i = 0; i < 10 && client.state() == onenet::client::State::kConnected; ++i) {
    client.poll(0);
  }
  CHECK(client.state() == onenet::client::State::kIdle);
  REQUIRE(handler.parts.size() == 2);  // the first part, and the one during which it stopped
  CHECK(handler.part_bytes == big.substr(0, handler.part_bytes.size()));
  // The next connection starts clean: a small message is decoded as itself.
  h.transport.inbound.clear();
  CHECK(h.transport.take_packets().back().type == PacketType::kDisconnect);
  connect_scripted(client, h.transport, h.options);
  h.transport.deliver(publish_frame("in/small", "ok", QoS::kAtMostOnce));
  client.poll(0);
  CHECK(handler.messages == std::vector<std::string>{"in/small=ok"});
}

TEST_CASE("inbound QoS 2 duplicates are delivered once; the id is free again after PUBREL") {
  Harness h;
  h.connect();
  h.transport.deliver(publish_frame("in", "two", QoS::kExactlyOnce, 5));
  h.transport.deliver(publish_frame("in", "two", QoS::kExactlyOnce, 5, true));  // DUP resend
  h.client.poll(0);
  CHECK(h.handler.messages.size() == 1);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].type == PacketType::kPubrec);
  CHECK(packets[1].type == PacketType::kPubrec);
  h.transport.deliver(ack_frame(PacketType::kPubrel, 5));
  h.client.poll(0);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kPubcomp);
  h.transport.deliver(publish_frame("in", "again", QoS::kExactlyOnce, 5));
  h.client.poll(0);
  CHECK(h.handler.messages.size() == 2);
}

TEST_CASE("inbound QoS 2 ids are forgotten with their session, and kept with a resumed one") {
  Harness h;
  h.connect();
  h.transport.deliver(publish_frame("in", "first", QoS::kExactlyOnce, 7));
  h.client.poll(0);
  REQUIRE(h.handler.messages == std::vector<std::string>{"in=first"});
  // The link drops before PUBREL. A resumed session may send the same message again: once.
  h.reconnect(true);
  h.transport.deliver(publish_frame("in", "first", QoS::kExactlyOnce, 7, true));
  h.client.poll(0);
  CHECK(h.handler.messages.size() == 1);
  // A new session knows nothing of id 7: its message with that id is a new one.
  h.reconnect(false);
  h.transport.deliver(publish_frame("in", "second", QoS::kExactlyOnce, 7));
  h.client.poll(0);
  CHECK(h.handler.messages == std::vector<std::string>{"in=first", "in=second"});
}

TEST_CASE("subscribe: per-filter SUBACK results; only accepted filters are resubscribed") {
  Harness h;
  h.connect();
  const onenet::codec::Subscription subs[] = {{"a/#", QoS::kAtLeastOnce},
                                              {"b/+", QoS::kAtMostOnce}};
  REQUIRE(h.client.subscribe(subs, 2) == Status::kOk);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kSubscribe);
  const uint16_t id = packets[0].packet_id;
  h.transport.deliver(
      {0x90, 0x04, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x80});
  h.client.poll(0);
  CHECK(h.handler.subscribed == std::vector<std::string>{"a/#:1", "b/+:refused"});

  h.reconnect(false);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kSubscribe);
  onenet::ByteView cursor = packets[0].list;
  onenet::codec::Subscription entry;
  REQUIRE(onenet::codec::next_filter(&cursor, true, &entry));
  CHECK(entry.filter == "a/#");
  CHECK_FALSE(onenet::codec::next_filter(&cursor, true, &entry));
  const uint16_t again = packets[0].packet_id;
  h.transport.deliver(
      {0x90, 0x03, static_cast<uint8_t>(again >> 8), static_cast<uint8_t>(again), 0x01});
  h.client.poll(0);

  // With the session resumed, the broker kept it: nothing is sent.
  h.reconnect(true);
  CHECK(h.transport.take_packets().empty());

  // A SUBSCRIBE still unanswered when the link drops is sent again, even on a resumed session.
  const onenet::codec::Subscription late{"c", QoS::kAtMostOnce};
  REQUIRE(h.client.subscribe(&late, 1) == Status::kOk);
  h.transport.take_packets();
  h.reconnect(true);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kSubscribe);
}

namespace {

// Unsubscribes `filter`: one UNSUBSCRIBE leaves; its UNSUBACK is reported for that filter.
void unsubscribe_one(Harness& h, std::string_view filter) {
  REQUIRE(h.client.unsubscribe(&filter, 1) == Status::kOk);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kUnsubscribe);
  h.transport.deliver(ack_frame(PacketType::kUnsuback, packets[0].packet_id));
  h.client.poll(0);
  CHECK(h.handler.unsubscribed == std::vector<std::string>{std::string(filter)});
}

}  // namespace

TEST_CASE("unsubscribe sends UNSUBSCRIBE and reports UNSUBACK") {
  Harness h;
  h.connect();
  const onenet::codec::Subscription sub{"a/#", QoS::kAtMostOnce};
  REQUIRE(h.client.subscribe(&sub, 1) == Status::kOk);
  uint16_t id = h.transport.take_packets()[0].packet_id;
  h.transport.deliver({0x90, 0x03, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x00});
  h.client.poll(0);
  unsubscribe_one(h, "a/#");
  h.reconnect(false);
  CHECK(h.transport.take_packets().empty());  // nothing left to resubscribe
}

namespace {

// Filters of the SUBSCRIBE packet, in order.
std::vector<std::string> filters_of(const onenet::codec::Packet& subscribe) {
  std::vector<std::string> out;
  onenet::ByteView cursor = subscribe.list;
  onenet::codec::Subscription entry;
  while (onenet::codec::next_filter(&cursor, true, &entry)) out.emplace_back(entry.filter);
  return out;
}

// Entries of the SUBSCRIBE packet as "filter:qos", in order.
std::vector<std::string> entries_of(const onenet::codec::Packet& subscribe) {
  std::vector<std::string> out;
  onenet::ByteView cursor = subscribe.list;
  onenet::codec::Subscription entry;
  while (onenet::codec::next_filter(&cursor, true, &entry)) {
    out.push_back(std::string(entry.filter) + ":" + std::to_string(static_cast<int>(entry.qos)));
  }
  return out;
}

Bytes suback(uint16_t id, std::initializer_list<uint8_t> codes) {
  Bytes frame{0x90, static_cast<uint8_t>(2 + codes.size()), static_cast<uint8_t>(id >> 8),
              static_cast<uint8_t>(id)};
  for (const uint8_t code : codes) frame.push_back(code);
  return frame;
}

}  // namespace

TEST_CASE("the subscription table holds what its bytes allow; freed records are reused") {
  FakeClock clock;
  ScriptedTransport transport;
  RecordingHandler handler;
  using onenet::client::subscription_bytes;
  // Room for exactly two 8-character filters.
  auto storage = std::make_unique<
      onenet::client::StaticStorage<512, 512, 512, 4, 2 * subscription_bytes(8)>>();
  onenet::client::Client client(transport, clock, scripted_random, storage->view(), handler);
  onenet::client::Options options;
  options.connect.client_id = "t";
  connect_scripted(client, transport, options);

  const onenet::codec::Subscription two[] = {{"filter/a", QoS::kAtMostOnce},
                                             {"filter/b", QoS::kAtLeastOnce}};
  REQUIRE(client.subscribe(two, 2) == Status::kOk);
  auto packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(filters_of(packets[0]) == std::vector<std::string>{"filter/a", "filter/b"});
  transport.deliver(suback(packets[0].packet_id, {0x00, 0x01}));
  client.poll(0);
  CHECK(handler.subscribed == std::vector<std::string>{"filter/a:0", "filter/b:1"});

  // Full: a third filter is refused and nothing is sent; the same filter again fits (an update).
  const onenet::codec::Subscription third{"filter/c", QoS::kAtMostOnce};
  CHECK(client.subscribe(&third, 1) == Status::kClientTooManySubscriptions);
  CHECK(transport.take_packets().empty());
  const onenet::codec::Subscription again{"filter/b", QoS::kAtMostOnce};
  REQUIRE(client.subscribe(&again, 1) == Status::kOk);
  packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  transport.deliver(suback(packets[0].packet_id, {0x00}));
  client.poll(0);

  // Unsubscribing the first frees its bytes for the third; the order of the rest is kept.
  const std::string_view first = "filter/a";
  REQUIRE(client.unsubscribe(&first, 1) == Status::kOk);
  packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  transport.deliver(ack_frame(PacketType::kUnsuback, packets[0].packet_id));
  client.poll(0);
  REQUIRE(client.subscribe(&third, 1) == Status::kOk);
  packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  transport.deliver(suback(packets[0].packet_id, {0x00}));
  client.poll(0);

  // After a lost session both are subscribed again, in table order, in one SUBSCRIBE.
  transport.dead = true;
  client.poll(0);
  clock.now += client.next_timeout_ms();
  client.poll(0);
  transport.take_packets();
  transport.deliver({0x20, 0x02, 0x00, 0x00});
  client.poll(0);
  packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(filters_of(packets[0]) == std::vector<std::string>{"filter/b", "filter/c"});
}

TEST_CASE("filters beyond one packet's limit go in further SUBSCRIBE and UNSUBSCRIBE packets") {
  Harness h;
  h.connect();
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back("f/" + std::to_string(i));
  std::vector<onenet::codec::Subscription> subs;
  for (int i = 0; i < 20; ++i) subs.push_back({names[i], static_cast<QoS>(i % 3)});
  REQUIRE(h.client.subscribe(subs.data(), subs.size()) == Status::kOk);
  auto packets = h.transport.take_packets();
  // At most 16 filters per packet, in the order given, each with its own QoS.
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].packet_id != packets[1].packet_id);
  std::vector<std::string> sent;
  for (const auto& packet : packets) {
    REQUIRE(packet.type == PacketType::kSubscribe);
    for (const std::string& entry : entries_of(packet)) sent.push_back(entry);
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(names[i] + ":" + std::to_string(i % 3));
  CHECK(sent == expected);
  CHECK(filters_of(packets[0]).size() == 16);
  h.transport.deliver(suback(packets[1].packet_id, {0x00, 0x01, 0x02, 0x00}));
  h.transport.deliver(
      suback(packets[0].packet_id,
             std::initializer_list<uint8_t>({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0})));
  h.client.poll(0);
  // Each SUBACK answers its own packet's filters, in their order.
  expected.clear();
  for (int i = 16; i < 20; ++i)
    expected.push_back(names[i] + ":" + std::to_string(i - 16 == 3 ? 0 : i - 16));
  for (int i = 0; i < 16; ++i) expected.push_back(names[i] + ":" + std::to_string(i % 3));
  CHECK(h.handler.subscribed == expected);

  std::vector<std::string_view> filters(names.begin(), names.end());
  REQUIRE(h.client.unsubscribe(filters.data(), filters.size()) == Status::kOk);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 2);
  sent.clear();
  for (const auto& packet : packets) {
    REQUIRE(packet.type == PacketType::kUnsubscribe);
    onenet::ByteView cursor = packet.list;
    onenet::codec::Subscription entry;
    while (onenet::codec::next_filter(&cursor, false, &entry)) sent.emplace_back(entry.filter);
  }
  CHECK(sent == names);
  for (const auto& packet : packets) {
    h.transport.deliver(ack_frame(PacketType::kUnsuback, packet.packet_id));
  }
  h.client.poll(0);
  CHECK(h.handler.unsubscribed == names);
}

TEST_CASE("SUBSCRIBE and UNSUBSCRIBE fit tx: a filter too long is refused, batches are cut") {
  FakeClock clock;
  ScriptedTransport transport;
  RecordingHandler handler;
  // A 64-byte tx: a SUBSCRIBE of more than 57 bytes of entries could never leave.
  auto storage = std::make_unique<onenet::client::StaticStorage<512, 64, 512, 4, 1024>>();
  onenet::client::Client client(transport, clock, scripted_random, storage->view(), handler);
  onenet::client::Options options;
  options.connect.client_id = "t";
  connect_scripted(client, transport, options);

  const std::string too_long(60, 'x');
  const onenet::codec::Subscription refused{too_long, QoS::kAtMostOnce};
  CHECK(client.subscribe(&refused, 1) == Status::kClientMessageTooLarge);
  const std::string_view too_long_view = too_long;
  CHECK(client.unsubscribe(&too_long_view, 1) == Status::kClientMessageTooLarge);
  client.poll(0);
  CHECK(transport.take_packets().empty());

  // Four 20-byte filters: each fits, all four together do not; they leave two by two.
  std::vector<std::string> names;
  for (char c = 'a'; c <= 'd'; ++c) names.push_back(std::string(18, c) + "/#");
  std::vector<onenet::codec::Subscription> subs;
  for (const std::string& name : names) subs.push_back({name, QoS::kAtLeastOnce});
  REQUIRE(client.subscribe(subs.data(), subs.size()) == Status::kOk);
  std::vector<onenet::codec::Packet> packets;
  for (int round = 0; round < 4 && packets.size() < 2; ++round) {
    client.poll(0);
    for (const auto& p : transport.take_packets()) packets.push_back(p);
  }
  REQUIRE(packets.size() == 2);
  CHECK(filters_of(packets[0]) == std::vector<std::string>{names[0], names[1]});
  CHECK(filters_of(packets[1]) == std::vector<std::string>{names[2], names[3]});
  for (const auto& p : packets) transport.deliver(suback(p.packet_id, {0x01, 0x01}));
  client.poll(0);
  CHECK(handler.subscribed.size() == 4);

  std::vector<std::string_view> filters(names.begin(), names.end());
  REQUIRE(client.unsubscribe(filters.data(), filters.size()) == Status::kOk);
  packets.clear();
  for (int round = 0; round < 4 && packets.size() < 2; ++round) {
    client.poll(0);
    for (const auto& p : transport.take_packets()) packets.push_back(p);
  }
  REQUIRE(packets.size() == 2);
  for (const auto& p : packets) transport.deliver(ack_frame(PacketType::kUnsuback, p.packet_id));
  client.poll(0);
  CHECK(handler.unsubscribed == names);
}

TEST_CASE("unsubscribe reaches the broker for a filter this client never subscribed") {
  // A persistent session (a generic broker) keeps subscriptions an earlier process made.
  Harness h;
  h.options.connect.clean_session = false;
  h.connect(true);
  unsubscribe_one(h, "earlier/process/#");
  h.reconnect(true);
  CHECK(h.transport.take_packets().empty());  // nothing left behind to send again
}

TEST_CASE(
    "a filter changed while its SUBACK is awaited: every SUBACK code reaches its own filter") {
  Harness h;
  h.connect();
  const onenet::codec::Subscription both[] = {{"a", QoS::kAtLeastOnce}, {"b", QoS::kAtMostOnce}};
  REQUIRE(h.client.subscribe(both, 2) == Status::kOk);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  const uint16_t first = packets[0].packet_id;

  // "a" is unsubscribed before the broker answered: the UNSUBSCRIBE waits for the SUBACK, whose
  // first code is still a's, so b's refusal is reported as b's.
  const std::string_view a = "a";
  REQUIRE(h.client.unsubscribe(&a, 1) == Status::kOk);
  CHECK(h.transport.take_packets().empty());
  h.transport.deliver(suback(first, {0x01, 0x80}));
  h.client.poll(0);
  CHECK(h.handler.subscribed == std::vector<std::string>{"a:1", "b:refused"});
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kUnsubscribe);
  h.transport.deliver(ack_frame(PacketType::kUnsuback, packets[0].packet_id));
  h.client.poll(0);
  CHECK(h.handler.unsubscribed == std::vector<std::string>{"a"});

  // "c" subscribed again, at another QoS, before its SUBACK: the SUBACK answers the first
  // SUBSCRIBE, then c goes again with the new QoS.
  const onenet::codec::Subscription cd[] = {{"c", QoS::kAtMostOnce}, {"d", QoS::kAtMostOnce}};
  REQUIRE(h.client.subscribe(cd, 2) == Status::kOk);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  const uint16_t second = packets[0].packet_id;
  const onenet::codec::Subscription c2{"c", QoS::kExactlyOnce};
  REQUIRE(h.client.subscribe(&c2, 1) == Status::kOk);
  CHECK(h.transport.take_packets().empty());
  h.transport.deliver(suback(second, {0x00, 0x80}));
  h.client.poll(0);
  CHECK(h.handler.subscribed == std::vector<std::string>{"a:1", "b:refused", "c:0", "d:refused"});
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kSubscribe);
  CHECK(entries_of(packets[0]) == std::vector<std::string>{"c:2"});
  CHECK(packets[0].packet_id != second);
}

TEST_CASE("a handler may subscribe and unsubscribe from inside on_subscribed") {
  struct Chain : RecordingHandler {
    void on_subscribed(std::string_view filter, Status result, QoS granted) override {
      RecordingHandler::on_subscribed(filter, result, granted);
      if (filter == "one") {
        const onenet::codec::Subscription next{"two/longer/filter", QoS::kAtMostOnce};
        CHECK(client->subscribe(&next, 1) == Status::kOk);
        const std::string_view gone = "zero";
        CHECK(client->unsubscribe(&gone, 1) == Status::kOk);
      }
    }
    onenet::client::Client* client = nullptr;
  };
  Harness h;
  Chain chain;
  onenet::client::Client client(h.transport, h.clock, scripted_random, h.storage->view(), chain);
  chain.client = &client;
  connect_scripted(client, h.transport, h.options);
  const onenet::codec::Subscription both[] = {{"zero", QoS::kAtMostOnce},
                                              {"one", QoS::kAtMostOnce}};
  REQUIRE(client.subscribe(both, 2) == Status::kOk);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  h.transport.deliver(suback(packets[0].packet_id, {0x00, 0x00}));
  client.poll(0);
  CHECK(chain.subscribed == std::vector<std::string>{"zero:0", "one:0"});
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].type == PacketType::kSubscribe);
  CHECK(filters_of(packets[0]) == std::vector<std::string>{"two/longer/filter"});
  CHECK(packets[1].type == PacketType::kUnsubscribe);
  h.transport.deliver(suback(packets[0].packet_id, {0x01}));
  h.transport.deliver(ack_frame(PacketType::kUnsuback, packets[1].packet_id));
  client.poll(0);
  CHECK(chain.subscribed.back() == "two/longer/filter:1");
  CHECK(chain.unsubscribed == std::vector<std::string>{"zero"});
}

TEST_CASE("a handler may publish from inside on_message") {
  struct Echo : RecordingHandler {
    onenet::client::Client* client = nullptr;
    void on_message(const onenet::client::Message& m) override {
      RecordingHandler::on_message(m);
      (void)client->publish("echo", m.payload, QoS::kAtMostOnce);
    }
  };
  FakeClock clock;
  ScriptedTransport transport;
  Echo handler;
  auto storage = std::make_unique<onenet::client::StaticStorage<512, 512, 512, 4, 256>>();
  onenet::client::Client client(transport, clock, scripted_random, storage->view(), handler);
  handler.client = &client;
  onenet::client::Options options;
  options.connect.client_id = "e";
  connect_scripted(client, transport, options);
  transport.deliver(publish_frame("in", "ping", QoS::kAtLeastOnce, 3));
  client.poll(0);
  auto packets = transport.take_packets();
  REQUIRE(packets.size() == 2);
  CHECK(packets[0].type == PacketType::kPuback);  // the acknowledgement goes first
  CHECK(packets[1].publish.topic == "echo");
  CHECK(packets[1].publish.payload.as_text() == "ping");
}
