// MQTT 3.1.1 packets (OASIS standard, 29 October 2014), both directions.
//
// Encoding is two-step: `encoded_size(x)` validates and returns the exact size, `encode(x, out)`
// writes it. Decoding takes one complete frame (fixed header included) and fills a Packet whose
// strings and payloads are views into that frame: they live as long as the frame's bytes.
// Pure functions: no heap, no globals, no I/O, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/bytes.hpp"
#include "onenet/status.hpp"

namespace onenet::codec {

/// Control packet types [MQTT-2.2.1]; 0 and 15 are reserved.
enum class PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};

enum class QoS : uint8_t { kAtMostOnce = 0, kAtLeastOnce = 1, kExactlyOnce = 2 };

/// Largest Remaining Length four bytes can carry [MQTT-2.2.3].
inline constexpr uint32_t kMaxRemainingLength = 268435455;

/// CONNACK return codes [MQTT-3.2.2.3].
enum class ConnectReturnCode : uint8_t {
  kAccepted = 0,
  kBadProtocolVersion = 1,
  kIdentifierRejected = 2,
  kServerUnavailable = 3,
  kBadUserNameOrPassword = 4,
  kNotAuthorized = 5,
};

/// SUBACK failure return code [MQTT-3.9.3].
inline constexpr uint8_t kSubackFailure = 0x80;

struct Will {
  std::string_view topic;
  ByteView payload;
  QoS qos = QoS::kAtMostOnce;
  bool retain = false;
};

// The small fields together, then the views: a client keeps a copy, so padding costs RAM (and
// the flags first keep their offsets short in Thumb code).
struct Connect {
  uint16_t keep_alive_seconds = 60;
  bool clean_session = true;
  bool has_will = false;
  bool has_username = false;
  bool has_password = false;
  std::string_view client_id;
  std::string_view username;  ///< sent only with has_username
  ByteView password;          ///< sent only with has_password
  Will will;                  ///< sent only with has_will
};

struct Connack {
  bool session_present = false;
  ConnectReturnCode return_code = ConnectReturnCode::kAccepted;
};

struct Publish {
  std::string_view topic;
  ByteView payload;
  QoS qos = QoS::kAtMostOnce;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;  ///< used only when qos > 0
};

struct Subscription {
  std::string_view filter;
  QoS qos = QoS::kAtMostOnce;
};

/// SUBSCRIBE to encode: `count` entries at `subscriptions` (borrowed).
struct Subscribe {
  uint16_t packet_id = 0;
  const Subscription* subscriptions = nullptr;
  size_t count = 0;
};

/// UNSUBSCRIBE to encode: `count` filters at `filters` (borrowed).
struct Unsubscribe {
  uint16_t packet_id = 0;
  const std::string_view* filters = nullptr;
  size_t count = 0;
};

/// SUBACK: one return code (0, 1, 2 or 0x80) per requested filter, in order.
struct Suback {
  uint16_t packet_id = 0;
  ByteView return_codes;
};

/// A decoded packet. Which members are meaningful depends on `type`:
/// CONNECT -> connect; CONNACK -> connack; PUBLISH -> publish (and packet_id);
/// PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK -> packet_id; SUBSCRIBE/UNSUBSCRIBE -> packet_id and
/// `list` (iterate with next_filter); SUBACK -> packet_id and `list` (one code per byte);
/// PINGREQ/PINGRESP/DISCONNECT -> nothing else.
struct Packet {
  PacketType type = PacketType::kDisconnect;
  uint16_t packet_id = 0;
  // What a client decodes first, within reach of Thumb's 16-bit loads and stores; CONNECT,
  // which only a broker decodes, last.
  Connack connack;
  Publish publish;
  ByteView list;
  Connect connect;
};

// ---- Encoding. encoded_size validates; encode writes and returns the bytes written. ----------
// Errors: kBufferTooSmall, kCodecBadUtf8, kCodecStringTooLong, kCodecBadTopicName,
// kCodecBadTopicFilter, kCodecZeroPacketId, kCodecBadQos, kCodecBadFlags (DUP on QoS 0),
// kCodecBadConnectFlags, kCodecEmptySubscription, kCodecBadReturnCode, kCodecPacketTooLarge.

/// `encode(x, MutableByteView())` (no buffer) validates and returns the size only.
Result<size_t> encode(const Connect& packet, MutableByteView out);
Result<size_t> encode(const Connack& packet, MutableByteView out);
Result<size_t> encode(const Publish& packet, MutableByteView out);
Result<size_t> encode(const Subscribe& packet, MutableByteView out);
Result<size_t> encode(const Suback& packet, MutableByteView out);
Result<size_t> encode(const Unsubscribe& packet, MutableByteView out);

template <typename P>
Result<size_t> encoded_size(const P& packet) {
  return encode(packet, MutableByteView());
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK: always 4 bytes. kInvalidArgument for another
/// type, kCodecZeroPacketId for id 0.
Result<size_t> encode_ack(PacketType type, uint16_t packet_id, MutableByteView out);

/// PINGREQ, PINGRESP or DISCONNECT: always 2 bytes. kInvalidArgument for another type.
Result<size_t> encode_empty(PacketType type, MutableByteView out);

/// Either of the above by type (`packet_id` ignored for the 2-byte packets): what a session
/// engine queues. Same errors.
Result<size_t> encode_control(PacketType type, uint16_t packet_id, MutableByteView out);

/// Writes a fixed header (`first_byte`, then `remaining_length` in 1 to 4 bytes [MQTT-2.2.3]) at
/// `out` and returns its length; with `out` null, returns the length only. For a caller that
/// builds a body itself (the client writes SUBSCRIBE straight from its subscription table).
/// `remaining_length` must be at most kMaxRemainingLength.
size_t encode_fixed_header(uint8_t first_byte, uint32_t remaining_length, uint8_t* out);

// ---- Decoding ----------------------------------------------------------------------------------

/// What the fixed header at the start of a buffer says.
struct FrameHeader {
  uint8_t first_byte = 0;  ///< type << 4 | flags
  uint32_t remaining_length = 0;
  uint8_t header_length = 0;  ///< 2..5
  size_t frame_length() const { return header_length + size_t{remaining_length}; }
};

/// Reads the fixed header at the start of `data`. kCodecNeedMore when the Remaining Length is
/// not complete yet; kCodecMalformedLength for a fifth length byte or an overlong encoding;
/// kCodecBadPacketType for type 0 or 15; kCodecBadFlags for wrong reserved flags or QoS 3;
/// kCodecPacketTooLarge when the whole frame would exceed `max_frame_length`. Checked before
/// any of the body is needed, so an oversized packet is refused before it is buffered.
Status decode_header(ByteView data, size_t max_frame_length, FrameHeader* out);

/// Decodes one complete frame (`frame` holds exactly header + body) of any of the 14 types.
/// Fills `out` with views into `frame` (on failure `out` is unspecified). Every rule of the
/// standard a receiver can check is checked; each failure has its own status (Status kCodec*).
/// This is the broker-side decoder (tests, fuzzers, onenet-local checks).
Status decode(ByteView frame, Packet* out);

/// As decode, for a client: only what a server may send (CONNACK, PUBLISH, PUBACK, PUBREC,
/// PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP); anything else is kCodecBadPacketType. A device
/// links only this one, which keeps CONNECT/SUBSCRIBE parsing out of its flash. It writes
/// `type`, `packet_id` (0 when the packet has none) and the fields of the decoded type only
/// (connack, publish, or list for SUBACK); other fields keep what they held.
Status decode_from_server(ByteView frame, Packet* out);

/// decode and decode_from_server after the fixed header: `header` was read and checked by
/// decode_header, and `body` holds the bytes after it (exactly its remaining_length for a whole
/// frame; anything else is refused as truncated or trailing, never read past). What
/// StreamDecoder calls, so a buffered frame's header is decoded once.
Status decode_body(const FrameHeader& header, ByteView body, Packet* out);
Status decode_body_from_server(const FrameHeader& header, ByteView body, Packet* out);

/// Signature shared by decode_body and decode_body_from_server.
using BodyDecodeFunction = Status (*)(const FrameHeader& header, ByteView body, Packet* out);

/// Steps through a decoded SUBSCRIBE (`with_qos` true) or UNSUBSCRIBE (`with_qos` false) list.
/// Returns false at the end. The list was validated by decode, so iteration cannot fail.
bool next_filter(ByteView* cursor, bool with_qos, Subscription* out);

}  // namespace onenet::codec
