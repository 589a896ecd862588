// The fixed header: packet types, Remaining Length encoding limits, maximum sizes.
#include "codec_helpers.hpp"

using namespace codec_test;
using onenet::Status;
using onenet::codec::FrameHeader;

namespace {

Status header_status(const Bytes& data, size_t max = SIZE_MAX, FrameHeader* out = nullptr) {
  FrameHeader h;
  return onenet::codec::decode_header(onenet::ByteView(data.data(), data.size()), max,
                                      out ? out : &h);
}

}  // namespace

TEST_CASE("Remaining Length: boundaries of one to four bytes, decoded and encoded") {
  struct Case {
    Bytes bytes;
    uint32_t value;
  };
  for (const Case& c :
       {Case{{0x30, 0x00}, 0}, Case{{0x30, 0x7F}, 127}, Case{{0x30, 0x80, 0x01}, 128},
        Case{{0x30, 0xFF, 0x7F}, 16383}, Case{{0x30, 0x80, 0x80, 0x01}, 16384},
        Case{{0x30, 0xFF, 0xFF, 0x7F}, 2097151}, Case{{0x30, 0x80, 0x80, 0x80, 0x01}, 2097152},
        Case{{0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 268435455}}) {
    FrameHeader h;
    REQUIRE(header_status(c.bytes, SIZE_MAX, &h) == Status::kOk);
    CHECK(h.remaining_length == c.value);
    CHECK(h.header_length == c.bytes.size());
    // encode_fixed_header writes exactly these bytes, and counts them without a buffer.
    uint8_t written[5] = {};
    CHECK(onenet::codec::encode_fixed_header(0x30, c.value, nullptr) == c.bytes.size());
    REQUIRE(onenet::codec::encode_fixed_header(0x30, c.value, written) == c.bytes.size());
    CHECK(Bytes(written, written + c.bytes.size()) == c.bytes);
  }
}

TEST_CASE("Remaining Length: a fifth byte and overlong encodings are malformed") {
  CHECK(header_status({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}) == Status::kCodecMalformedLength);
  CHECK(header_status({0x30, 0x80, 0x80, 0x80, 0x80}) == Status::kCodecMalformedLength);
  CHECK(header_status({0x30, 0x80, 0x00}) == Status::kCodecMalformedLength);        // 0 in 2 bytes
  CHECK(header_status({0x30, 0xFF, 0x80, 0x00}) == Status::kCodecMalformedLength);  // 127 in 3
}

TEST_CASE("Remaining Length: incomplete headers need more bytes") {
  CHECK(header_status({}) == Status::kCodecNeedMore);
  CHECK(header_status({0x30}) == Status::kCodecNeedMore);
  CHECK(header_status({0x30, 0x80}) == Status::kCodecNeedMore);
  CHECK(header_status({0x30, 0x80, 0x80, 0x80}) == Status::kCodecNeedMore);
}

TEST_CASE("reserved packet types 0 and 15 are refused") {
  CHECK(header_status({0x00, 0x00}) == Status::kCodecBadPacketType);
  CHECK(header_status({0xF0, 0x00}) == Status::kCodecBadPacketType);
}

TEST_CASE("reserved flags must be exactly as the standard lists them [MQTT-2.2.2-1]") {
  for (uint8_t type = 1; type <= 14; ++type) {
    if (type == 3) continue;  // PUBLISH flags carry DUP/QoS/RETAIN
    const bool two = type == 6 || type == 8 || type == 10;
    for (uint8_t flags = 0; flags < 16; ++flags) {
      CAPTURE(type);
      CAPTURE(flags);
      const Status s = header_status({static_cast<uint8_t>(type << 4 | flags), 0x00});
      CHECK((s == Status::kOk) == (flags == (two ? 2 : 0)));
    }
  }
}

TEST_CASE("the maximum frame size is enforced from the header alone") {
  CHECK(header_status({0x30, 0x0A}, 12) == Status::kOk);  // 2 + 10 bytes
  CHECK(header_status({0x30, 0x0B}, 12) == Status::kCodecPacketTooLarge);
  // A 268 MB PUBLISH announced by 5 bytes is refused before any of it arrives.
  CHECK(header_status({0x30, 0xFF, 0xFF, 0xFF, 0x7F}, 1 << 20) == Status::kCodecPacketTooLarge);
}

TEST_CASE("encoding refuses a body longer than Remaining Length can carry") {
  // Only the size is asked for: the payload view need not be readable memory of that size...
  // but it must be, in case the encoder reads it. Use a real (shared, zero) buffer.
  static std::vector<uint8_t> huge(onenet::codec::kMaxRemainingLength);
  onenet::codec::Publish p;
  p.topic = "t";
  p.payload = onenet::ByteView(huge.data(), huge.size());
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecPacketTooLarge);
  p.payload.size = onenet::codec::kMaxRemainingLength - 3;  // exactly the maximum body
  CHECK(onenet::codec::encoded_size(p).value() == 1 + 4 + onenet::codec::kMaxRemainingLength);
}

TEST_CASE("decode refuses a frame that is shorter or longer than its header says") {
  CHECK(decode_status({0x30, 0x05, 0x00, 0x01, 't'}) == Status::kCodecTruncated);
  CHECK(decode_status({0xC0, 0x00, 0x00}) == Status::kCodecTrailingBytes);
  CHECK(decode_status({0x30}) == Status::kCodecTruncated);
}
