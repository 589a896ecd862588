// Encoders for what a client sends. (CONNACK and SUBACK, sent by brokers, are in broker.cpp.)
#include "wire.hpp"

namespace onenet::codec {
namespace {

using wire::Writer;

using namespace wire::connect_flags;

uint8_t first_byte(PacketType type, uint8_t flags) {
  return static_cast<uint8_t>(static_cast<uint8_t>(type) << 4 | flags);
}

bool is_ack(PacketType type) {
  return (type >= PacketType::kPuback && type <= PacketType::kPubcomp) ||
         type == PacketType::kUnsuback;
}

bool is_header_only(PacketType type) {
  return type >= PacketType::kPingreq && type <= PacketType::kDisconnect;
}

void check_qos(Writer& w, QoS qos) {
  if (w.counting() && static_cast<uint8_t>(qos) > 2) w.check(Status::kCodecBadQos);
}

void connect_body(const void* packet, Writer& w) {
  const Connect& c = *static_cast<const Connect*>(packet);
  if (w.counting()) {
    // A zero-byte client id needs a clean session [MQTT-3.1.3-7]; a password needs a user
    // name [MQTT-3.1.2-22].
    if ((c.client_id.empty() && !c.clean_session) || (c.has_password && !c.has_username)) {
      w.check(Status::kCodecBadConnectFlags);
    }
    if (c.has_will) check_qos(w, c.will.qos);
  }
  uint8_t flags = c.clean_session ? kFlagClean : 0;
  if (c.has_will) {
    flags |= kFlagWill | static_cast<uint8_t>(static_cast<uint8_t>(c.will.qos) << 3) |
             (c.will.retain ? kFlagWillRetain : 0);
  }
  if (c.has_username) flags |= kFlagUsername;
  if (c.has_password) flags |= kFlagPassword;
  // Protocol name "MQTT" (a length-prefixed string) and level 4 [MQTT-3.1.2-1], [MQTT-3.1.2-2].
  static constexpr uint8_t kProtocol[] = {0, 4, 'M', 'Q', 'T', 'T', 4};
  w.raw(ByteView(kProtocol, sizeof kProtocol));
  w.u8(flags);
  w.u16(c.keep_alive_seconds);
  w.text(c.client_id, check_utf8);
  if (c.has_will) {
    w.text(c.will.topic, check_topic_name);
    w.field(c.will.payload);
  }
  if (c.has_username) w.text(c.username, check_utf8);
  if (c.has_password) w.field(c.password);
}

void publish_body(const void* packet, Writer& w) {
  const Publish& p = *static_cast<const Publish*>(packet);
  if (w.counting()) {
    if (static_cast<uint8_t>(p.qos) > 2) w.check(Status::kCodecBadQos);
    if (p.dup && p.qos == QoS::kAtMostOnce) w.check(Status::kCodecBadFlags);  // [MQTT-3.3.1-2]
  }
  w.text(p.topic, check_topic_name);  // no wildcards in a name [MQTT-3.3.2-2]
  if (p.qos != QoS::kAtMostOnce) w.packet_id(p.packet_id);
  w.raw(p.payload);
}

void subscribe_body(const void* packet, Writer& w) {
  const Subscribe& s = *static_cast<const Subscribe*>(packet);
  if (w.counting() && s.count == 0) w.check(Status::kCodecEmptySubscription);  // [MQTT-3.8.3-3]
  w.packet_id(s.packet_id);
  for (size_t i = 0; i < s.count; ++i) {
    w.text(s.subscriptions[i].filter, check_topic_filter);
    check_qos(w, s.subscriptions[i].qos);
    w.u8(static_cast<uint8_t>(s.subscriptions[i].qos));
  }
}

void unsubscribe_body(const void* packet, Writer& w) {
  const Unsubscribe& u = *static_cast<const Unsubscribe*>(packet);
  if (w.counting() && u.count == 0) w.check(Status::kCodecEmptySubscription);  // [MQTT-3.10.3-2]
  w.packet_id(u.packet_id);
  for (size_t i = 0; i < u.count; ++i) w.text(u.filters[i], check_topic_filter);
}

uint8_t publish_first_byte(const Publish& p) {
  return first_byte(PacketType::kPublish,
                    static_cast<uint8_t>((p.dup ? 0x08 : 0) | static_cast<uint8_t>(p.qos) << 1 |
                                         (p.retain ? 1 : 0)));
}

}  // namespace

namespace wire {

Result<size_t> encode_frame(uint8_t first, BodyWriter body, const void* packet,
                            MutableByteView out) {
  Writer count;
  body(packet, count);
  if (count.status != Status::kOk) return count.status;
  if (count.length > kMaxRemainingLength) return Status::kCodecPacketTooLarge;
  const auto remaining = static_cast<uint32_t>(count.length);
  const size_t total = encode_fixed_header(first, remaining, nullptr) + remaining;
  if (out.data == nullptr) return total;
  if (out.size < total) return Status::kBufferTooSmall;
  Writer w;
  w.out = out.data;
  w.length = encode_fixed_header(first, remaining, out.data);
  body(packet, w);
  return total;
}

}  // namespace wire

Result<size_t> encode(const Connect& c, MutableByteView out) {
  return wire::encode_frame(first_byte(PacketType::kConnect, 0), connect_body, &c, out);
}

Result<size_t> encode(const Publish& p, MutableByteView out) {
  return wire::encode_frame(publish_first_byte(p), publish_body, &p, out);
}

Result<size_t> encode(const Subscribe& s, MutableByteView out) {
  // SUBSCRIBE flags are 0010 [MQTT-3.8.1-1].
  return wire::encode_frame(first_byte(PacketType::kSubscribe, 2), subscribe_body, &s, out);
}

Result<size_t> encode(const Unsubscribe& u, MutableByteView out) {
  // UNSUBSCRIBE flags are 0010 [MQTT-3.10.1-1].
  return wire::encode_frame(first_byte(PacketType::kUnsubscribe, 2), unsubscribe_body, &u, out);
}

// Type and flags, then the Remaining Length: 7 bits per byte, least significant first, the top
// bit saying another byte follows [MQTT-2.2.3].
size_t encode_fixed_header(uint8_t first_byte, uint32_t remaining_length, uint8_t* out) {
  size_t n = 0;
  if (out) out[n] = first_byte;
  ++n;
  do {
    const auto byte =
        static_cast<uint8_t>((remaining_length & 0x7F) | (remaining_length > 0x7F ? 0x80 : 0));
    if (out) out[n] = byte;
    ++n;
    remaining_length >>= 7;
  } while (remaining_length);
  return n;
}

// Fixed-size packets are written directly: no body to count or validate beyond the id.
Result<size_t> encode_control(PacketType type, uint16_t packet_id, MutableByteView out) {
  const bool ack = is_ack(type);
  if (!ack && !is_header_only(type)) return Status::kInvalidArgument;
  if (ack && packet_id == 0) return Status::kCodecZeroPacketId;  // [MQTT-2.3.1-1]
  const size_t size = ack ? 4 : 2;
  if (out.data == nullptr) return size;
  if (out.size < size) return Status::kBufferTooSmall;
  // PUBREL flags are 0010 [MQTT-3.6.1-1].
  out.data[0] = first_byte(type, type == PacketType::kPubrel ? 2 : 0);
  out.data[1] = static_cast<uint8_t>(size - 2);
  if (ack) {
    out.data[2] = static_cast<uint8_t>(packet_id >> 8);
    out.data[3] = static_cast<uint8_t>(packet_id);
  }
  return size;
}

Result<size_t> encode_ack(PacketType type, uint16_t packet_id, MutableByteView out) {
  if (!is_ack(type)) return Status::kInvalidArgument;
  return encode_control(type, packet_id, out);
}

Result<size_t> encode_empty(PacketType type, MutableByteView out) {
  if (!is_header_only(type)) return Status::kInvalidArgument;
  return encode_control(type, 0, out);
}

}  // namespace onenet::codec
