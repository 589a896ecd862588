// Session-engine fuzzer: the input is a script of calls (publish, subscribe, poll, disconnect),
// broker traffic (well-formed answers and raw bytes), link behaviour (partial and refused sends,
// dead links, failed opens) and clock jumps, run against a client with small buffers (tx
// smaller than the messages, so stored frames also leave from the outbox).
//
// Oracles: nothing crashes or hangs; every connection's byte stream is CONNECT first, then
// well-formed client packets only; every QoS 1/2 PUBLISH carries the topic and payload its id
// was published with; QoS 0 messages leave in publish order; on_delivered names only ids in
// flight, once each; and a cooperative broker at the end completes every accepted QoS 1/2
// message (none lost) and sees every QoS 0 message still waiting in the outbox leave it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fuzz_require.hpp"
#include "onenet/client/client.hpp"
#include "onenet/codec/packets.hpp"

using namespace onenet;
using codec::PacketType;
using codec::QoS;

namespace {

// Reads the script; past its end every read yields 0.
class Script {
 public:
  Script(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

struct FuzzClock : port::Clock {
  uint64_t now_ms() override { return now; }
  uint64_t now = 5000000;
};

struct FuzzTransport : port::Transport {
  Status open(uint32_t) override {
    if (refuse_opens > 0) {
      --refuse_opens;
      return Status::kTransportConnectFailed;
    }
    is_open = true;
    dead = false;
    inbound.clear();  // a new connection starts with nothing from the old one
    sent.clear();
    ++connections;
    return Status::kOk;
  }
  int32_t send(const uint8_t* data, size_t size) override {
    if (!is_open || dead) return -1;
    if (stall_every_other && (++sends % 2 == 0)) return 0;
    const size_t n = size < chunk ? size : chunk;
    sent.insert(sent.end(), data, data + n);
    return static_cast<int32_t>(n);
  }
  int32_t recv(uint8_t* data, size_t size) override {
    if (!is_open) return -1;
    if (inbound.empty()) return dead ? -1 : 0;
    size_t n = size < inbound.size() ? size : inbound.size();
    for (size_t i = 0; i < n; ++i) {
      data[i] = inbound.front();
      inbound.pop_front();
    }
    return static_cast<int32_t>(n);
  }
  Status wait(uint32_t, bool) override { return Status::kOk; }
  void close() override { is_open = false; }

  void deliver(const uint8_t* bytes, size_t size) {
    if (is_open) inbound.insert(inbound.end(), bytes, bytes + size);
  }

  std::deque<uint8_t> inbound;
  std::vector<uint8_t> sent;  // this connection's bytes not yet parsed
  size_t chunk = SIZE_MAX;
  bool stall_every_other = false;
  bool is_open = false;
  bool dead = false;
  int refuse_opens = 0;
  int connections = 0;
  unsigned sends = 0;
};

struct Expected {
  std::string topic;
  std::string payload;
};

Status no_random(MutableByteView out) {
  std::memset(out.data, 0x5a, out.size);
  return Status::kOk;
}

class Harness : public client::Handler {
 public:
  explicit Harness(bool messages_in_parts)
      : client_(transport_, clock_, no_random, storage_.view(), *this) {
    options_.large_messages_in_parts = messages_in_parts;
    options_.connect.client_id = "fuzz";
    options_.connect.keep_alive_seconds = 10;
    options_.backoff_initial_ms = 100;
    options_.backoff_max_ms = 1000;
    require(client_.configure(options_) == Status::kOk);
    require(client_.start() == Status::kOk);
  }

  void run(Script& script) {
    for (int step = 0; step < 400 && !script.done(); ++step) {
      this->step(script);
      check_sent();
    }
    finish();
  }

 private:
  void step(Script& s) {
    const uint8_t op = s.byte();
    switch (op % 14) {
      case 0:
      case 1:
        client_.poll(0);
        break;
      case 2:
        publish(s, static_cast<QoS>(s.byte() % 3));
        break;
      case 3: {  // CONNACK: mostly accepted, sometimes a refusal
        const uint8_t flags = s.byte();
        const uint8_t code = flags & 0x80 ? flags % 6 : 0;
        deliver_connack(flags & 1, code);
        break;
      }
      case 4:  // an acknowledgement for an id the client sent (or, rarely, any id)
        acknowledge(s);
        break;
      case 5:
        answer_subscriptions(s.byte());
        break;
      case 6:
        deliver_publish(s);
        break;
      case 7: {  // raw bytes: what arrives on this connection can no longer be predicted
        sync_inbound();
        inbound_known_ = false;
        held_unknown_ = true;  // the bytes may make QoS 2 messages of any id
        uint8_t raw[32];
        const size_t n = s.byte() % sizeof raw;
        for (size_t i = 0; i < n; ++i) raw[i] = s.byte();
        transport_.deliver(raw, n);
        break;
      }
      case 8: {
        const uint8_t how = s.byte();
        transport_.chunk = how & 0x80 ? SIZE_MAX : (how & 0x3f) + 1;
        transport_.stall_every_other = how & 0x40;
        break;
      }
      case 9:
        if (s.byte() & 1) {
          transport_.dead = true;
        } else {
          transport_.refuse_opens = s.byte() % 3;
        }
        break;
      case 10:
        clock_.now += uint64_t{s.u16()} * (s.byte() % 8 + 1);
        break;
      case 11: {
        static const char* const filters[] = {"a/#", "b/+/c", "c", "d/e/f/g/h/i/j/k"};
        const codec::Subscription subs[] = {{filters[s.byte() % 4], static_cast<QoS>(s.byte() % 3)},
                                            {filters[s.byte() % 4], QoS::kAtLeastOnce}};
        (void)client_.subscribe(subs, s.byte() % 2 + 1);
        break;
      }
      case 12: {
        const std::string_view filter[] = {s.byte() % 2 ? "a/#" : "c"};
        (void)client_.unsubscribe(filter, 1);
        break;
      }
      case 13:
        if (client_.state() == client::State::kIdle) {
          (void)client_.start();
        } else {
          (void)client_.disconnect(s.byte() % 3);
        }
        break;
    }
  }

  void publish(Script& s, QoS qos) {
    static const char* const topics[] = {"t", "a/b", "c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v"};
    const std::string topic = topics[s.byte() % 3];
    const size_t length = s.u16() % 700 + 2;  // tx is 64 B, the outbox 1 KB: big ones wait there
    // Numbered in its first two bytes (QoS 0 order is checked by that number).
    std::string payload(length, static_cast<char>('a' + counter_ % 26));
    payload[0] = static_cast<char>(counter_ >> 8);
    payload[1] = static_cast<char>(counter_);
    ++counter_;
    const Result<uint16_t> id = client_.publish(topic, std::string_view(payload), qos);
    if (id && qos != QoS::kAtMostOnce) {
      require(id.value() != 0);
      require(expected_.count(id.value()) == 0);  // an id in flight is never handed out again
      expected_[id.value()] = Expected{topic, payload};
    }
  }

  void acknowledge(Script& s) {
    const uint8_t kind = s.byte();
    uint16_t id = kind & 0x80 ? s.u16() : 0;
    if (id == 0) {
      if (sent_ids_.empty()) return;
      id = sent_ids_[s.byte() % sent_ids_.size()];
    }
    static const PacketType types[] = {PacketType::kPuback, PacketType::kPubrec,
                                       PacketType::kPubcomp, PacketType::kPubrel};
    uint8_t frame[4];
    (void)codec::encode_ack(types[kind % 4], id, MutableByteView(frame, sizeof frame));
    transport_.deliver(frame, sizeof frame);
  }

  void answer_subscriptions(uint8_t codes) {
    sync_inbound();
    for (const auto& [id, filters] : pending_subscribes_) {
      const size_t count = filters.size();
      std::vector<uint8_t> list(count);
      for (size_t i = 0; i < count; ++i) list[i] = (codes >> i) & 1 ? 0x80 : codes % 3;
      uint8_t frame[64];
      const Result<size_t> n = codec::encode(codec::Suback{id, ByteView(list.data(), list.size())},
                                             MutableByteView(frame, sizeof frame));
      if (!n || !transport_.is_open) continue;
      transport_.deliver(frame, n.value());
      for (size_t i = 0; i < count; ++i)
        suback_expected_.push_back(subscribed(filters[i], list[i]));
    }
    for (const auto& [id, filters] : pending_unsubscribes_) {
      uint8_t frame[4];
      (void)codec::encode_ack(PacketType::kUnsuback, id, MutableByteView(frame, sizeof frame));
      if (!transport_.is_open) continue;
      transport_.deliver(frame, sizeof frame);
      for (const std::string& filter : filters) unsuback_expected_.push_back(filter);
    }
    pending_subscribes_.clear();
    pending_unsubscribes_.clear();
  }

  void deliver_publish(Script& s) {
    codec::Publish p;
    // Numbered topics: a delivery, a part or a drop names the message it stands for.
    const std::string topic = (s.byte() % 2 ? "a/x" : "c") + std::to_string(inbound_counter_);
    std::string payload(s.u16() % 400, '\0');  // rx is 256 B: some come in parts or are dropped
    for (size_t i = 0; i < payload.size(); ++i) {
      payload[i] = static_cast<char>('a' + (inbound_counter_ + i) % 26);
    }
    ++inbound_counter_;
    p.topic = topic;
    p.payload = std::string_view(payload);
    p.qos = static_cast<QoS>(s.byte() % 3);
    p.packet_id = p.qos == QoS::kAtMostOnce ? 0 : static_cast<uint16_t>(s.byte() % 4 + 1);
    std::vector<uint8_t> frame(codec::encoded_size(p).value());
    require(codec::encode(p, MutableByteView(frame.data(), frame.size())).ok());
    sync_inbound();
    if (transport_.is_open) {
      inbound_expected_.push_back(Inbound{topic, payload, p.qos, p.packet_id, frame.size()});
    }
    transport_.deliver(frame.data(), frame.size());
  }

  // What the broker sent on this connection: forgotten when a new one opens.
  void sync_inbound() {
    if (inbound_connection_ == transport_.connections) return;
    inbound_connection_ = transport_.connections;
    inbound_expected_.clear();
    suback_expected_.clear();
    unsuback_expected_.clear();
    inbound_known_ = true;
  }

  // How on_subscribed must report a filter the broker answered with `code`.
  static std::string subscribed(std::string_view filter, uint8_t code) {
    return std::string(filter) + ":" + std::to_string(code);
  }

  // The message sent by the broker that a delivery or a drop of `topic` stands for. Only QoS 2
  // messages may be passed over on the way: duplicates of an id the client may still hold.
  void match_inbound(std::string_view topic) {
    while (!inbound_expected_.empty() && inbound_expected_.front().topic != topic) {
      require(inbound_expected_.front().qos == QoS::kExactlyOnce);
      require(held_unknown_ || held_qos2_.count(inbound_expected_.front().packet_id) == 1);
      inbound_expected_.pop_front();
    }
    require(!inbound_expected_.empty());
  }

  // A QoS 2 message reached the handler (or was dropped): the client may hold its id until its
  // session ends. PUBREL may free it sooner, which this does not follow (an over-approximation:
  // it only lets more messages be passed over).
  void note_delivered(QoS qos, uint16_t packet_id) {
    if (qos == QoS::kExactlyOnce) held_qos2_.insert(packet_id);
  }

  void deliver_connack(uint8_t session_present, uint8_t code) {
    if (!transport_.is_open) return;
    if (connack_connection_ != transport_.connections) {  // only a connection's first counts
      connack_connection_ = transport_.connections;
      connack_session_present_ = session_present != 0;
    }
    const uint8_t frame[] = {0x20, 0x02, session_present, code};
    transport_.deliver(frame, sizeof frame);
  }

  // Parses what the current connection has sent so far and checks every complete frame.
  void check_sent() {
    if (transport_.connections != connection_seen_) {
      connection_seen_ = transport_.connections;
      connect_seen_ = false;
      sent_ids_.clear();
      pending_subscribes_.clear();
      pending_unsubscribes_.clear();
    }
    size_t at = 0;
    std::vector<uint8_t>& sent = transport_.sent;
    while (at < sent.size()) {
      codec::FrameHeader h;
      const ByteView rest(sent.data() + at, sent.size() - at);
      const Status header = codec::decode_header(rest, SIZE_MAX, &h);
      if (header == Status::kCodecNeedMore) break;
      require(header == Status::kOk);
      if (rest.size < h.frame_length()) break;
      codec::Packet p;
      require(codec::decode(ByteView(rest.data, h.frame_length()), &p) == Status::kOk);
      require(connect_seen_ == (p.type != PacketType::kConnect));  // CONNECT first, once
      connect_seen_ = true;
      check_packet(p);
      at += h.frame_length();
    }
    sent.erase(sent.begin(), sent.begin() + static_cast<long>(at));
  }

  void check_packet(const codec::Packet& p) {
    switch (p.type) {
      case PacketType::kPublish:
        if (p.publish.qos == QoS::kAtMostOnce && p.publish.topic != "r") {
          // QoS 0 messages leave in publish order (some may be lost, none reordered).
          const uint8_t* number = p.publish.payload.data;
          const int published = number[0] << 8 | number[1];
          require(published > last_qos0_);
          last_qos0_ = published;
        }
        if (p.publish.qos != QoS::kAtMostOnce) {
          const auto it = expected_.find(p.packet_id);
          if (it != expected_.end()) {  // absent: acknowledged early by a scripted broker
            require(p.publish.topic == it->second.topic);
            require(p.publish.payload.as_text() == it->second.payload);
          }
          sent_ids_.push_back(p.packet_id);
        }
        break;
      case PacketType::kPubrel:
        sent_ids_.push_back(p.packet_id);
        break;
      case PacketType::kSubscribe: {
        std::vector<std::string> filters;
        ByteView cursor = p.list;
        codec::Subscription sub;
        while (codec::next_filter(&cursor, true, &sub)) filters.emplace_back(sub.filter);
        pending_subscribes_[p.packet_id] = std::move(filters);
        break;
      }
      case PacketType::kUnsubscribe: {
        std::vector<std::string> filters;
        ByteView cursor = p.list;
        codec::Subscription sub;
        while (codec::next_filter(&cursor, false, &sub)) filters.emplace_back(sub.filter);
        pending_unsubscribes_.emplace_back(p.packet_id, std::move(filters));
        break;
      }
      case PacketType::kConnect:
      case PacketType::kPuback:
      case PacketType::kPubrec:
      case PacketType::kPubcomp:
      case PacketType::kPingreq:
      case PacketType::kDisconnect:
        break;
      default:
        require(false);  // a server's packet from a client
    }
  }

  // A cooperative broker from here on: every accepted QoS 1/2 message must complete.
  void finish() {
    transport_.chunk = SIZE_MAX;
    transport_.stall_every_other = false;
    transport_.refuse_opens = 0;
    int connack_for = -1;
    for (int round = 0; round < 200 && (!expected_.empty() || client_.inflight_count() > 0);
         ++round) {
      if (client_.state() == client::State::kIdle) require(client_.start() == Status::kOk);
      client_.poll(0);
      check_sent();
      if (client_.state() == client::State::kAwaitingConnack &&
          connack_for != transport_.connections) {
        connack_for = transport_.connections;
        deliver_connack(round & 1, 0);
      }
      for (const uint16_t id : sent_ids_) {
        // QoS 1 and 2 alike: PUBACK ends a QoS 1 message, PUBREC then PUBCOMP a QoS 2 one; an
        // acknowledgement of the wrong kind is ignored by the client.
        uint8_t frames[12];
        (void)codec::encode_ack(PacketType::kPuback, id, MutableByteView(frames, 4));
        (void)codec::encode_ack(PacketType::kPubrec, id, MutableByteView(frames + 4, 4));
        (void)codec::encode_ack(PacketType::kPubcomp, id, MutableByteView(frames + 8, 4));
        transport_.deliver(frames, sizeof frames);
      }
      sent_ids_.clear();
      answer_subscriptions(0);
      clock_.now += client_.next_timeout_ms() + 1;
    }
    require(expected_.empty());
    require(client_.inflight_count() == 0);
  }

  void on_message(const client::Message& m) override {
    require(m.payload.size <= 256);
    // Parts of a message come in order, without gap or overlap, one message at a time, and
    // only when asked for; a message cut off by the end of its connection is abandoned.
    require(m.offset == next_part_offset_);
    require(m.payload.size > 0 || m.total_size == 0);
    require(m.offset + m.payload.size <= m.total_size);
    require(options_.large_messages_in_parts || m.complete());
    next_part_offset_ = m.complete() ? 0 : m.offset + m.payload.size;
    // Every byte is the broker's, at its place: nothing lost, repeated or moved.
    sync_inbound();
    if (inbound_known_) {
      if (m.offset == 0) match_inbound(m.topic);
      const std::string& sent = inbound_expected_.front().payload;
      require(sent.size() == m.total_size);
      require(sent.compare(m.offset, m.payload.size, m.payload.as_text()) == 0);
      if (m.complete()) {
        note_delivered(inbound_expected_.front().qos, inbound_expected_.front().packet_id);
        inbound_expected_.pop_front();
      }
    }
    if (++messages_ % 3 == 0) {  // re-entrancy: publish from inside the callback
      const std::string payload = "reply";
      const Result<uint16_t> id = client_.publish("r", std::string_view(payload), m.qos);
      if (id && m.qos != QoS::kAtMostOnce) {
        require(expected_.count(id.value()) == 0);
        expected_[id.value()] = Expected{"r", payload};
      }
    }
    if (messages_ % 11 == 0) (void)client_.disconnect(0);  // re-entrancy: leave from inside
  }
  void on_message_dropped(std::string_view topic, Status reason) override {
    require(reason == Status::kClientMessageTooLarge);
    sync_inbound();
    if (!inbound_known_) return;
    match_inbound(topic);
    require(inbound_expected_.front().frame_size > 256);  // only what rx cannot hold
    require(!options_.large_messages_in_parts);           // which then comes in parts instead
    note_delivered(inbound_expected_.front().qos, inbound_expected_.front().packet_id);
    inbound_expected_.pop_front();
  }
  void on_state(client::State state, Status) override {
    if (state != client::State::kConnected) next_part_offset_ = 0;
    sync_inbound();
    // A new session (our CONNACK said so, and nothing else came first): no id is held any more.
    if (state == client::State::kConnected && inbound_known_ &&
        connack_connection_ == transport_.connections && !connack_session_present_) {
      held_qos2_.clear();
      held_unknown_ = false;
    }
  }
  // Each SUBACK code reaches the filter it answers, in the order the broker sent them.
  void on_subscribed(std::string_view filter, Status result, QoS granted) override {
    sync_inbound();
    if (!inbound_known_) return;
    require(!suback_expected_.empty());
    const uint8_t code = result == Status::kOk ? static_cast<uint8_t>(granted) : 0x80;
    require(suback_expected_.front() == subscribed(filter, code));
    suback_expected_.pop_front();
  }
  // Each UNSUBACK is reported for the filters of the UNSUBSCRIBE it answers, in order.
  void on_unsubscribed(std::string_view filter) override {
    sync_inbound();
    if (!inbound_known_) return;
    require(!unsuback_expected_.empty());
    require(unsuback_expected_.front() == filter);
    unsuback_expected_.pop_front();
  }
  void on_delivered(uint16_t id, Status) override {
    require(expected_.erase(id) == 1);  // only ids in flight, once each
  }

  FuzzClock clock_;
  FuzzTransport transport_;
  client::StaticStorage<256, 64, 1024, 4, 64, 2> storage_;
  client::Client client_;
  client::Options options_;
  std::map<uint16_t, Expected> expected_;
  std::vector<uint16_t> sent_ids_;  // QoS 1/2 PUBLISH and PUBREL ids sent on this connection
  std::map<uint16_t, std::vector<std::string>> pending_subscribes_;  // filters, in order
  std::deque<std::string> suback_expected_;  // "filter:code" answered on this connection
  std::vector<std::pair<uint16_t, std::vector<std::string>>> pending_unsubscribes_;
  std::deque<std::string> unsuback_expected_;  // filters unsubscribed on this connection
  int connection_seen_ = 0;
  bool connect_seen_ = false;
  unsigned counter_ = 0;
  int last_qos0_ = -1;  // number of the last QoS 0 message seen on the wire
  unsigned messages_ = 0;
  size_t next_part_offset_ = 0;  // where the next part of a message in parts must start
  struct Inbound {
    std::string topic;
    std::string payload;
    QoS qos;
    uint16_t packet_id;
    size_t frame_size;
  };
  std::set<uint16_t> held_qos2_;  // QoS 2 ids delivered in this session (see note_delivered)
  bool held_unknown_ = false;     // raw bytes may have delivered others
  int connack_connection_ = -1;   // the connection our first CONNACK went to
  bool connack_session_present_ = false;
  std::deque<Inbound> inbound_expected_;  // PUBLISHes the broker sent, not yet seen by the handler
  int inbound_connection_ = -1;
  bool inbound_known_ = true;  // no raw bytes were sent on this connection
  unsigned inbound_counter_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script script(data, size);
  // The first byte's top bit (the script reads it as its first operation too) picks whether
  // messages longer than rx come in parts or are dropped.
  Harness harness(size > 0 && (data[0] & 0x80));
  harness.run(script);
  return 0;
}
