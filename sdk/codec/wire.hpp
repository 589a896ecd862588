// Private to sdk/codec: the byte-level writer and reader shared by the encoders and decoders.
#pragma once

#include <cstring>

#include "onenet/codec/packets.hpp"
#include "onenet/codec/topic.hpp"

namespace onenet::codec::wire {

/// CONNECT flag bits [MQTT-3.1.2.3], shared by the encoder and the broker-side decoder.
namespace connect_flags {
constexpr uint8_t kFlagReserved = 0x01;
constexpr uint8_t kFlagClean = 0x02;
constexpr uint8_t kFlagWill = 0x04;
constexpr uint8_t kFlagWillRetain = 0x20;
constexpr uint8_t kFlagPassword = 0x40;
constexpr uint8_t kFlagUsername = 0x80;
}  // namespace connect_flags

/// Writes big-endian MQTT fields, or only counts them while `out` is null. Validation runs in
/// the counting pass only (`counting()`), so every encode checks its input exactly once.
struct Writer {
  uint8_t* out = nullptr;
  size_t length = 0;
  Status status = Status::kOk;

  bool counting() const { return out == nullptr; }
  void check(Status s) {
    if (status == Status::kOk) status = s;
  }
  void u8(uint8_t v) {
    if (out) out[length] = v;
    ++length;
  }
  void u16(size_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void raw(ByteView bytes) {
    if (out && bytes.size) std::memcpy(out + length, bytes.data, bytes.size);
    length += bytes.size;
  }
  /// A length-prefixed field [MQTT-1.5.3]; at most 65,535 bytes.
  void field(ByteView bytes) {
    if (counting() && bytes.size > 65535) check(Status::kCodecStringTooLong);
    u16(bytes.size);
    raw(bytes);
  }
  /// A length-prefixed string, checked by `rule` (check_utf8, check_topic_name, ...).
  void text(std::string_view s, Status (*rule)(std::string_view)) {
    if (counting()) check(rule(s));
    field(s);
  }
  void packet_id(uint16_t id) {
    if (counting() && id == 0) check(Status::kCodecZeroPacketId);  // [MQTT-2.3.1-1]
    u16(id);
  }
};

/// A PUBLISH's DUP, QoS and RETAIN from its first byte [MQTT-3.3.1].
inline void read_publish_flags(uint8_t first_byte, Publish* p) {
  p->dup = first_byte & 0x08;
  p->qos = static_cast<QoS>((first_byte >> 1) & 0x03);
  p->retain = first_byte & 0x01;
}

/// Writes one packet's variable header and payload into `w`.
using BodyWriter = void (*)(const void* packet, Writer& w);

/// Size pass, then (when `out.data` is set) the write pass: fixed header plus body. Returns the
/// frame size, a validation status, kCodecPacketTooLarge or kBufferTooSmall.
Result<size_t> encode_frame(uint8_t first_byte, BodyWriter body, const void* packet,
                            MutableByteView out);

/// Reads big-endian fields with a sticky first error, so decoders check once at the end.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  Status status = Status::kOk;

  void fail(Status s) {
    if (status == Status::kOk) status = s;
    p = end;
  }
  size_t left() const { return static_cast<size_t>(end - p); }
  uint8_t u8();
  uint16_t u16();
  uint16_t packet_id();
  ByteView binary();
  /// A UTF-8 string checked by `rule`; a failing rule's status becomes the reader's.
  std::string_view text(Status (*rule)(std::string_view) = check_utf8);
  ByteView rest();
};

/// The fixed header of a complete frame: kCodecTruncated / kCodecTrailingBytes when `frame`
/// is not exactly one frame.
Status frame_header(ByteView frame, FrameHeader* header);

/// What follows the fixed header of a frame frame_header() accepted.
inline ByteView body_of(ByteView frame, const FrameHeader& header) {
  return ByteView(frame.data + header.header_length, header.remaining_length);
}

}  // namespace onenet::codec::wire

namespace onenet::codec::wire {

/// SUBACK return codes: at least one, each 0, 1, 2 or 0x80 [MQTT-3.9.3-2].
Status check_return_codes(ByteView codes);

}  // namespace onenet::codec::wire
