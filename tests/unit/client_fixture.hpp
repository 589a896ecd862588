// Fakes for the session engine: a scripted transport and a hand-driven clock.
#pragma once

#include <doctest/doctest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "onenet/client/client.hpp"
#include "onenet/codec/packets.hpp"

namespace client_test {

using Bytes = std::vector<uint8_t>;

class FakeClock : public onenet::port::Clock {
 public:
  uint64_t now_ms() override { return now; }
  uint64_t now = 1000000;
};

// A transport whose peer is the test: bytes the client sends pile up in `sent`; bytes the test
// pushes with `deliver` come back from recv, at most `recv_chunk` at a time.
class ScriptedTransport : public onenet::port::Transport {
 public:
  onenet::Status open(uint32_t) override {
    ++opens;
    if (!open_results.empty()) {
      const onenet::Status s = open_results.front();
      open_results.pop_front();
      if (s != onenet::Status::kOk) return s;
    }
    is_open = true;
    dead = false;
    return onenet::Status::kOk;
  }
  int32_t send(const uint8_t* data, size_t size) override {
    if (!is_open || dead) return -1;
    if (send_zero_every_other && (++send_calls % 2 == 0)) return 0;
    const size_t n = size < send_chunk ? size : send_chunk;
    sent.insert(sent.end(), data, data + n);
    return static_cast<int32_t>(n);
  }
  int32_t recv(uint8_t* data, size_t size) override {
    if (!is_open) return -1;
    if (inbound.empty()) return dead ? -1 : 0;
    if (recv_zero_every_other && (++recv_calls % 2 == 0)) return 0;
    size_t n = size < recv_chunk ? size : recv_chunk;
    if (n > inbound.size()) n = inbound.size();
    for (size_t i = 0; i < n; ++i) {
      data[i] = inbound.front();
      inbound.pop_front();
    }
    return static_cast<int32_t>(n);
  }
  onenet::Status wait(uint32_t, bool) override { return onenet::Status::kOk; }
  void close() override { is_open = false; }

  void deliver(const Bytes& bytes) { inbound.insert(inbound.end(), bytes.begin(), bytes.end()); }

  // Decodes and removes every complete frame sent so far.
  std::vector<onenet::codec::Packet> take_packets() {
    std::vector<onenet::codec::Packet> packets;
    frames.clear();
    size_t at = 0;
    while (at < sent.size()) {
      onenet::codec::FrameHeader h;
      const onenet::ByteView rest(sent.data() + at, sent.size() - at);
      if (onenet::codec::decode_header(rest, SIZE_MAX, &h) != onenet::Status::kOk) break;
      if (rest.size < h.frame_length()) break;
      frames.emplace_back(rest.data, rest.data + h.frame_length());
      at += h.frame_length();
    }
    sent.erase(sent.begin(), sent.begin() + static_cast<long>(at));
    for (const Bytes& f : frames) {
      onenet::codec::Packet p;
      REQUIRE(onenet::codec::decode(onenet::ByteView(f.data(), f.size()), &p) ==
              onenet::Status::kOk);
      packets.push_back(p);
    }
    return packets;  // views point into `frames`, valid until the next call
  }

  std::deque<onenet::Status> open_results;
  std::deque<uint8_t> inbound;
  Bytes sent;
  std::vector<Bytes> frames;
  size_t send_chunk = SIZE_MAX;
  size_t recv_chunk = SIZE_MAX;
  bool send_zero_every_other = false;
  bool recv_zero_every_other = false;
  bool is_open = false;
  bool dead = false;
  int opens = 0;
  int send_calls = 0;
  int recv_calls = 0;
};

struct Event {
  std::string what;
  onenet::Status status = onenet::Status::kOk;
  uint16_t id = 0;
};

// Records every callback.
class RecordingHandler : public onenet::client::Handler {
 public:
  void on_state(onenet::client::State state, onenet::Status reason) override {
    states.push_back(state);
    reasons.push_back(reason);
  }
  void on_message(const onenet::client::Message& m) override {
    if (m.offset != 0 || !m.complete()) {  // one part of a message delivered in parts
      parts.push_back(Part{std::string(m.topic), m.offset, m.payload.size, m.total_size});
      part_bytes.append(m.payload.as_text());
      return;
    }
    messages.push_back(std::string(m.topic) + "=" + std::string(m.payload.as_text()));
    message_qos.push_back(m.qos);
  }
  void on_delivered(uint16_t id, onenet::Status result) override {
    delivered.push_back(Event{"delivered", result, id});
  }
  void on_subscribed(std::string_view filter, onenet::Status result,
                     onenet::codec::QoS granted) override {
    subscribed.push_back(std::string(filter) + ":" +
                         (result == onenet::Status::kOk ? std::to_string(static_cast<int>(granted))
                                                        : std::string("refused")));
  }
  void on_unsubscribed(std::string_view filter) override { unsubscribed.emplace_back(filter); }
  void on_message_dropped(std::string_view topic, onenet::Status reason) override {
    dropped.push_back(std::string(topic) + ":" + onenet::to_string(reason));
  }

  std::vector<onenet::client::State> states;
  std::vector<onenet::Status> reasons;
  std::vector<std::string> messages;
  std::vector<onenet::codec::QoS> message_qos;
  std::vector<Event> delivered;
  std::vector<std::string> subscribed;
  std::vector<std::string> unsubscribed;
  std::vector<std::string> dropped;
  struct Part {
    std::string topic;
    size_t offset, size, total;
  };
  std::vector<Part> parts;
  std::string part_bytes;  // every part's payload, in arrival order

  // The messages the parts make up, as "topic:total", after checking that each message's parts
  // follow each other without gap or overlap, from offset 0 to its total.
  std::vector<std::string> messages_from_parts() const {
    std::vector<std::string> whole;
    size_t expected = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const Part& p = parts[i];
      CAPTURE(i);
      CHECK(p.offset == expected);
      CHECK(p.size > 0);
      if (i > 0 && expected != 0) CHECK(p.topic == parts[i - 1].topic);
      expected = p.offset + p.size;
      if (expected == p.total) {
        whole.push_back(p.topic + ":" + std::to_string(p.total));
        expected = 0;
      }
    }
    CHECK(expected == 0);  // no message left unfinished
    return whole;
  }
};

// Deterministic "random" bytes: each call yields the next value of `values` (cycling).
inline std::vector<uint32_t>& random_values() {
  static std::vector<uint32_t> values{0xFFFFFFFFu};
  return values;
}
inline onenet::Status scripted_random(onenet::MutableByteView out) {
  static size_t next = 0;
  const uint32_t v = random_values()[next++ % random_values().size()];
  for (size_t i = 0; i < out.size; ++i) out.data[i] = static_cast<uint8_t>(v >> (8 * (i % 4)));
  return onenet::Status::kOk;
}

// configure + start + CONNACK(session_present): leaves `client` connected, its CONNECT taken.
inline void connect_scripted(onenet::client::Client& client, ScriptedTransport& transport,
                             const onenet::client::Options& options, bool session_present = false) {
  REQUIRE(client.configure(options) == onenet::Status::kOk);
  REQUIRE(client.start() == onenet::Status::kOk);
  REQUIRE(client.poll(0) == onenet::Status::kOk);
  REQUIRE(client.state() == onenet::client::State::kAwaitingConnack);
  const auto packets = transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == onenet::codec::PacketType::kConnect);
  transport.deliver({0x20, 0x02, static_cast<uint8_t>(session_present ? 1 : 0), 0x00});
  REQUIRE(client.poll(0) == onenet::Status::kOk);
  REQUIRE(client.state() == onenet::client::State::kConnected);
}

// A client on the fakes with generous storage; `options` pre-filled for a generic broker.
struct Harness {
  FakeClock clock;
  ScriptedTransport transport;
  RecordingHandler handler;
  std::unique_ptr<onenet::client::StaticStorage<2048, 2048, 4096, 8, 1024, 4>> storage =
      std::make_unique<onenet::client::StaticStorage<2048, 2048, 4096, 8, 1024, 4>>();
  onenet::client::Client client{transport, clock, scripted_random, storage->view(), handler};
  onenet::client::Options options;

  Harness() {
    options.connect.client_id = "c1";
    options.connect.keep_alive_seconds = 10;
    options.backoff_initial_ms = 1000;
    options.backoff_max_ms = 8000;
  }

  // configure + start + CONNACK(session_present): leaves the client connected, CONNECT taken.
  void connect(bool session_present = false) {
    connect_scripted(client, transport, options, session_present);
  }

  // Drops the link, waits out the backoff, and answers the new CONNECT.
  void reconnect(bool session_present) {
    transport.dead = true;
    client.poll(0);
    REQUIRE(client.state() == onenet::client::State::kBackoff);
    transport.take_packets();
    clock.now += client.next_timeout_ms();
    client.poll(0);
    REQUIRE(client.state() == onenet::client::State::kAwaitingConnack);
    const auto connect_packets = transport.take_packets();
    REQUIRE(connect_packets.size() == 1);
    REQUIRE(connect_packets[0].type == onenet::codec::PacketType::kConnect);
    transport.deliver({0x20, 0x02, static_cast<uint8_t>(session_present ? 1 : 0), 0x00});
    client.poll(0);
    REQUIRE(client.state() == onenet::client::State::kConnected);
  }
};

inline Bytes publish_frame(const char* topic, const char* payload, onenet::codec::QoS qos,
                           uint16_t id = 0, bool dup = false) {
  onenet::codec::Publish p;
  p.topic = topic;
  p.payload = std::string_view(payload);
  p.qos = qos;
  p.packet_id = id;
  p.dup = dup;
  Bytes out(onenet::codec::encoded_size(p).value());
  (void)onenet::codec::encode(p, onenet::MutableByteView(out.data(), out.size()));
  return out;
}

inline Bytes ack_frame(onenet::codec::PacketType type, uint16_t id) {
  Bytes out(4);
  (void)onenet::codec::encode_ack(type, id, onenet::MutableByteView(out.data(), 4));
  return out;
}

}  // namespace client_test
