// The broker side of the codec: what a server sends (CONNACK, SUBACK) and decoding of every
// packet type, including what only clients send (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ,
// DISCONNECT). Used by tests, fuzzers and onenet-local; a device never links this file.
#include "wire.hpp"

namespace onenet::codec {
namespace {

using wire::Reader;
using wire::Writer;

using namespace wire::connect_flags;

void connack_body(const void* packet, Writer& w) {
  const Connack& c = *static_cast<const Connack*>(packet);
  const auto code = static_cast<uint8_t>(c.return_code);
  if (w.counting() && code > 5) w.check(Status::kCodecBadReturnCode);
  if (w.counting() && c.session_present && code != 0)
    w.check(Status::kCodecBadFlags);  // [MQTT-3.2.2-4]
  w.u8(c.session_present ? 1 : 0);
  w.u8(code);
}

void suback_body(const void* packet, Writer& w) {
  const Suback& s = *static_cast<const Suback*>(packet);
  if (w.counting()) w.check(wire::check_return_codes(s.return_codes));
  w.packet_id(s.packet_id);
  w.raw(s.return_codes);
}

Status decode_connect(Reader& r, Connect* c) {
  const std::string_view protocol = r.text();
  const uint8_t level = r.u8();
  if (r.status == Status::kOk && (protocol != "MQTT" || level != 4)) {
    return Status::kCodecBadProtocol;  // [MQTT-3.1.2-1], [MQTT-3.1.2-2]
  }
  const uint8_t flags = r.u8();
  c->keep_alive_seconds = r.u16();
  if (r.status != Status::kOk) return r.status;

  const uint8_t will_qos = (flags >> 3) & 0x03;
  c->clean_session = flags & kFlagClean;
  c->has_will = flags & kFlagWill;
  c->will.qos = static_cast<QoS>(will_qos);
  c->will.retain = flags & kFlagWillRetain;
  c->has_username = flags & kFlagUsername;
  c->has_password = flags & kFlagPassword;
  if (flags & kFlagReserved) return Status::kCodecBadConnectFlags;  // [MQTT-3.1.2-3]
  if (will_qos == 3) return Status::kCodecBadQos;                   // [MQTT-3.1.2-14]
  // Without a will, will QoS and will retain must be 0 [MQTT-3.1.2-13], [MQTT-3.1.2-15].
  if (!c->has_will && (will_qos != 0 || c->will.retain)) return Status::kCodecBadConnectFlags;
  if (c->has_password && !c->has_username) return Status::kCodecBadConnectFlags;  // [MQTT-3.1.2-22]

  c->client_id = r.text();  // [MQTT-3.1.3-3], [MQTT-3.1.3-4]
  if (r.status == Status::kOk && c->client_id.empty() && !c->clean_session) {
    return Status::kCodecBadConnectFlags;  // [MQTT-3.1.3-7]
  }
  if (c->has_will) {
    c->will.topic = r.text(check_topic_name);
    c->will.payload = r.binary();
  }
  if (c->has_username) c->username = r.text();
  if (c->has_password) c->password = r.binary();
  return r.status;
}

// At least one entry [MQTT-3.8.3-3], [MQTT-3.10.3-2], each a valid filter [MQTT-3.8.3-1]; a
// SUBSCRIBE QoS byte has its upper six bits zero and is not 3 [MQTT-3-8.3-4].
Status check_filter_list(ByteView list, bool with_qos) {
  if (list.empty()) return Status::kCodecEmptySubscription;
  Reader r{list.data, list.data + list.size};
  while (r.left()) {
    r.text(check_topic_filter);
    if (with_qos && r.u8() > 2 && r.status == Status::kOk) r.fail(Status::kCodecBadQos);
  }
  return r.status;
}

}  // namespace

Result<size_t> encode(const Connack& c, MutableByteView out) {
  return wire::encode_frame(static_cast<uint8_t>(PacketType::kConnack) << 4, connack_body, &c, out);
}

Result<size_t> encode(const Suback& s, MutableByteView out) {
  return wire::encode_frame(static_cast<uint8_t>(PacketType::kSuback) << 4, suback_body, &s, out);
}

Status decode(ByteView frame, Packet* out) {
  FrameHeader header;
  const Status s = wire::frame_header(frame, &header);
  if (s != Status::kOk) return s;
  return decode_body(header, wire::body_of(frame, header), out);
}

Status decode_body(const FrameHeader& header, ByteView body, Packet* out) {
  *out = Packet();
  out->type = static_cast<PacketType>(header.first_byte >> 4);
  Reader r{body.data, body.data + body.size};
  switch (out->type) {
    case PacketType::kConnect: {
      const Status connect = decode_connect(r, &out->connect);
      if (connect != Status::kOk) return connect;
      break;
    }
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe: {
      out->packet_id = r.packet_id();
      out->list = r.rest();
      if (r.status != Status::kOk) return r.status;
      return check_filter_list(out->list, out->type == PacketType::kSubscribe);
    }
    case PacketType::kPingreq:
    case PacketType::kDisconnect:
      break;
    default:
      return decode_body_from_server(header, body, out);
  }
  return r.left() ? Status::kCodecTrailingBytes : Status::kOk;
}

bool next_filter(ByteView* cursor, bool with_qos, Subscription* out) {
  if (cursor->size < 2) return false;
  Reader r{cursor->data, cursor->data + cursor->size};
  out->filter = r.binary().as_text();
  out->qos = with_qos ? static_cast<QoS>(r.u8()) : QoS::kAtMostOnce;
  *cursor = ByteView(r.p, r.left());
  return r.status == Status::kOk;
}

}  // namespace onenet::codec
