// Decoding of what a server sends, plus the fixed header and reader shared with broker.cpp.
#include "wire.hpp"

namespace onenet::codec {
namespace wire {

uint8_t Reader::u8() {
  if (p == end) {
    fail(Status::kCodecTruncated);
    return 0;
  }
  return *p++;
}

uint16_t Reader::u16() {
  const uint16_t high = u8();
  return static_cast<uint16_t>(high << 8 | u8());
}

uint16_t Reader::packet_id() {
  const uint16_t id = u16();
  if (id == 0) fail(Status::kCodecZeroPacketId);  // [MQTT-2.3.1-1]
  return id;
}

ByteView Reader::binary() {
  const size_t n = u16();
  if (n > left()) fail(Status::kCodecTruncated);
  const ByteView view(p, status == Status::kOk ? n : 0);
  p += view.size;
  return view;
}

std::string_view Reader::text(Status (*rule)(std::string_view)) {
  const std::string_view s = binary().as_text();
  if (status == Status::kOk) {
    status = rule(s);  // the first error, as fail() would keep it
    if (status != Status::kOk) p = end;
  }
  return s;
}

ByteView Reader::rest() {
  const ByteView view(p, left());
  p = end;
  return view;
}

Status check_return_codes(ByteView codes) {
  if (codes.empty()) return Status::kCodecEmptySubscription;
  for (size_t i = 0; i < codes.size; ++i) {
    const uint8_t c = codes.data[i];
    if (c > 2 && c != kSubackFailure) return Status::kCodecBadReturnCode;  // [MQTT-3.9.3-2]
  }
  return Status::kOk;
}

Status frame_header(ByteView frame, FrameHeader* header) {
  const Status s = decode_header(frame, SIZE_MAX, header);
  if (s == Status::kCodecNeedMore) return Status::kCodecTruncated;
  if (s != Status::kOk) return s;
  if (frame.size != header->frame_length()) {
    return frame.size < header->frame_length() ? Status::kCodecTruncated
                                               : Status::kCodecTrailingBytes;
  }
  return Status::kOk;
}

}  // namespace wire

Status decode_header(ByteView data, size_t max_frame_length, FrameHeader* out) {
  if (data.size < 2) return Status::kCodecNeedMore;
  const uint8_t first = data.data[0];
  const uint8_t type = first >> 4;
  const uint8_t flags = first & 0x0F;
  if (type == 0 || type == 15) return Status::kCodecBadPacketType;  // reserved [MQTT-2.2.1]
  if (type == static_cast<uint8_t>(PacketType::kPublish)) {
    if ((flags & 0x06) == 0x06) return Status::kCodecBadQos;    // [MQTT-3.3.1-4]
    if ((flags & 0x0E) == 0x08) return Status::kCodecBadFlags;  // DUP on QoS 0 [MQTT-3.3.1-2]
  } else if (flags != ((0x0A80u >> type) & 2)) {
    // PUBREL, SUBSCRIBE and UNSUBSCRIBE (types 6, 8, 10: bits 7, 9, 11 of 0x0A80, shifted onto
    // bit 1) carry 0010, every other type 0000 [MQTT-2.2.2-1]; anything else closes the
    // connection [MQTT-2.2.2-2].
    return Status::kCodecBadFlags;
  }
  uint32_t remaining = 0;
  size_t i = 1;
  for (;; ++i) {
    if (i == 5) return Status::kCodecMalformedLength;  // at most four length bytes [MQTT-2.2.3]
    if (i == data.size) return Status::kCodecNeedMore;
    const uint8_t byte = data.data[i];
    remaining |= uint32_t{byte & 0x7Fu} << (7 * (i - 1));
    if (!(byte & 0x80)) {
      // A last byte of 0 after a continuation adds nothing: a non-minimal (overlong) encoding.
      if (byte == 0 && i > 1) return Status::kCodecMalformedLength;
      break;
    }
  }
  out->first_byte = first;
  out->remaining_length = remaining;
  out->header_length = static_cast<uint8_t>(i + 1);
  return out->frame_length() > max_frame_length ? Status::kCodecPacketTooLarge : Status::kOk;
}

Status decode_body_from_server(const FrameHeader& header, ByteView body, Packet* out) {
  // Only the fields of the decoded type are written (see packets.hpp): building a whole default
  // Packet here would cost a temporary, a memset and a memcpy on an MCU.
  out->type = static_cast<PacketType>(header.first_byte >> 4);
  out->packet_id = 0;
  wire::Reader r{body.data, body.data + body.size};
  switch (out->type) {
    case PacketType::kConnack: {
      const uint8_t ack_flags = r.u8();
      const uint8_t code = r.u8();
      out->connack.session_present = ack_flags;
      out->connack.return_code = static_cast<ConnectReturnCode>(code);
      if (r.status != Status::kOk) break;
      if (ack_flags > 1) return Status::kCodecBadFlags;      // bits 7-1 reserved [MQTT-3.2.2.1]
      if (code > 5) return Status::kCodecBadReturnCode;      // 6-255 reserved [MQTT-3.2.2.3]
      if (ack_flags && code) return Status::kCodecBadFlags;  // [MQTT-3.2.2-4]
      break;
    }
    case PacketType::kPublish: {
      Publish& pub = out->publish;
      wire::read_publish_flags(header.first_byte, &pub);
      pub.topic = r.text(check_topic_name);  // [MQTT-3.3.2-1], [MQTT-3.3.2-2]
      pub.packet_id = 0;
      if (pub.qos != QoS::kAtMostOnce) out->packet_id = pub.packet_id = r.packet_id();
      pub.payload = r.rest();
      break;
    }
    case PacketType::kSuback: {
      out->packet_id = r.packet_id();
      out->list = r.rest();
      if (r.status == Status::kOk) return wire::check_return_codes(out->list);
      break;
    }
    case PacketType::kPingresp:
      break;
    case PacketType::kPuback:
    case PacketType::kPubrec:
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
    case PacketType::kUnsuback:
      out->packet_id = r.packet_id();
      break;
    default:
      return Status::kCodecBadPacketType;
  }
  if (r.status != Status::kOk) return r.status;
  return r.left() ? Status::kCodecTrailingBytes : Status::kOk;
}

Status decode_from_server(ByteView frame, Packet* out) {
  FrameHeader header;
  const Status s = wire::frame_header(frame, &header);
  if (s != Status::kOk) return s;
  return decode_body_from_server(header, wire::body_of(frame, header), out);
}

}  // namespace onenet::codec
