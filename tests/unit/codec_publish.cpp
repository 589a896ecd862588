// PUBLISH and the four acknowledgements, PINGREQ/PINGRESP/DISCONNECT.
#include "codec_helpers.hpp"

using namespace codec_test;
using onenet::Status;
using onenet::codec::PacketType;
using onenet::codec::Publish;
using onenet::codec::QoS;

TEST_CASE("PUBLISH QoS 0: no packet identifier") {
  Publish p;
  p.topic = "a/b";
  p.payload = std::string_view("hi");
  const Bytes expected = {
      0x30, 7,                    // PUBLISH, QoS 0, remaining length 7
      0x00, 0x03, 'a', '/', 'b',  // topic name
      'h',  'i',                  // payload
  };
  CHECK(encode_bytes(p) == expected);
  const auto d = decode_ok(expected);
  CHECK(d.type == PacketType::kPublish);
  CHECK(d.publish.topic == "a/b");
  CHECK(text(d.publish.payload) == "hi");
  CHECK(d.publish.qos == QoS::kAtMostOnce);
}

TEST_CASE("PUBLISH QoS 1 retained, and QoS 2 with DUP") {
  Publish p;
  p.topic = "t";
  p.qos = QoS::kAtLeastOnce;
  p.retain = true;
  p.packet_id = 0x0102;
  CHECK(encode_bytes(p) == Bytes{
                               0x33, 5,          // PUBLISH, QoS 1, retain; remaining length 5
                               0x00, 0x01, 't',  // topic name
                               0x01, 0x02,       // packet identifier
                           });
  p.qos = QoS::kExactlyOnce;
  p.retain = false;
  p.dup = true;
  p.payload = std::string_view("x");
  const Bytes qos2 = {
      0x3C, 6,          // PUBLISH, DUP, QoS 2
      0x00, 0x01, 't',  // topic name
      0x01, 0x02,       // packet identifier
      'x',              // payload
  };
  CHECK(encode_bytes(p) == qos2);
  const auto d = decode_ok(qos2);
  CHECK(d.publish.dup);
  CHECK(d.publish.qos == QoS::kExactlyOnce);
  CHECK(d.packet_id == 0x0102);
  CHECK(d.publish.packet_id == 0x0102);
}

TEST_CASE("PUBLISH with an empty payload and a 200-byte payload (two length bytes)") {
  Publish p;
  p.topic = "t";
  CHECK(encode_bytes(p) == Bytes{0x30, 3, 0x00, 0x01, 't'});
  const std::string big(200, 'z');
  p.payload = std::string_view(big);
  const Bytes frame = encode_bytes(p);
  CHECK(frame.size() == 1 + 2 + 3 + 200);
  CHECK(frame[1] == ((203 & 0x7F) | 0x80));  // remaining length 203, first byte
  CHECK(frame[2] == 1);                      // 203 >> 7
  CHECK(decode_ok(frame).publish.payload.size == 200);
}

TEST_CASE("PUBLISH encoding refuses wildcards, bad QoS, id 0, DUP on QoS 0") {
  Publish p;
  p.topic = "a/+";
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecBadTopicName);  // [MQTT-3.3.2-2]
  p.topic = "a/#";
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecBadTopicName);
  p.topic = "";
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecBadTopicName);  // [MQTT-4.7.3-1]
  p.topic = "t";
  p.qos = static_cast<QoS>(3);
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecBadQos);
  p.qos = QoS::kAtLeastOnce;
  p.packet_id = 0;
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecZeroPacketId);  // [MQTT-2.3.1-1]
  p.qos = QoS::kAtMostOnce;
  p.dup = true;
  CHECK(onenet::codec::encoded_size(p).status() == Status::kCodecBadFlags);  // [MQTT-3.3.1-2]
}

TEST_CASE("PUBLISH decoding: every malformed case") {
  CHECK(decode_status({0x36, 3, 0, 1, 't'}) == Status::kCodecBadQos);        // QoS 3 [MQTT-3.3.1-4]
  CHECK(decode_status({0x38, 3, 0, 1, 't'}) == Status::kCodecBadFlags);      // DUP on QoS 0
  CHECK(decode_status({0x30, 3, 0, 1, '+'}) == Status::kCodecBadTopicName);  // wildcard in name
  CHECK(decode_status({0x30, 2, 0, 0}) == Status::kCodecBadTopicName);       // empty topic
  CHECK(decode_status({0x32, 5, 0, 1, 't', 0, 0}) == Status::kCodecZeroPacketId);
  CHECK(decode_status({0x32, 4, 0, 1, 't', 0}) == Status::kCodecTruncated);    // half an id
  CHECK(decode_status({0x30, 3, 0, 5, 't'}) == Status::kCodecTruncated);       // topic past the end
  CHECK(decode_status({0x30, 4, 0, 2, 0xED, 0xA0}) == Status::kCodecBadUtf8);  // cut sequence
  CHECK(decode_status({0x30, 5, 0, 3, 0xED, 0xA0, 0x80}) == Status::kCodecBadUtf8);  // surrogate
  CHECK(decode_status({0x30, 3, 0, 1, 0}) == Status::kCodecBadUtf8);  // U+0000 [MQTT-4.7.3-2]
}

TEST_CASE("PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: type, flags, identifier") {
  struct Case {
    PacketType type;
    uint8_t first;
  };
  for (const Case c : {Case{PacketType::kPuback, 0x40}, Case{PacketType::kPubrec, 0x50},
                       Case{PacketType::kPubrel, 0x62},  // PUBREL flags 0010 [MQTT-3.6.1-1]
                       Case{PacketType::kPubcomp, 0x70}, Case{PacketType::kUnsuback, 0xB0}}) {
    CAPTURE(c.first);
    Bytes out(4);
    REQUIRE(onenet::codec::encode_ack(c.type, 0xABCD, onenet::MutableByteView(out.data(), 4)).ok());
    CHECK(out == Bytes{c.first, 0x02,  // type and flags, remaining length 2
                       0xAB, 0xCD});   // packet identifier
    const auto d = decode_ok(out);
    CHECK(d.type == c.type);
    CHECK(d.packet_id == 0xABCD);
    CHECK(decode_status({c.first, 0x02, 0x00, 0x00}) == Status::kCodecZeroPacketId);
    CHECK(decode_status({c.first, 0x03, 0x00, 0x01, 0x00}) == Status::kCodecTrailingBytes);
    CHECK(decode_status({c.first, 0x01, 0x01}) == Status::kCodecTruncated);
    CHECK(decode_status({static_cast<uint8_t>(c.first ^ 0x01), 0x02, 0x00, 0x01}) ==
          Status::kCodecBadFlags);
  }
  Bytes out(4);
  CHECK(onenet::codec::encode_ack(PacketType::kPublish, 1, onenet::MutableByteView(out.data(), 4))
            .status() == Status::kInvalidArgument);
  CHECK(onenet::codec::encode_ack(PacketType::kPuback, 0, onenet::MutableByteView(out.data(), 4))
            .status() == Status::kCodecZeroPacketId);
  CHECK(onenet::codec::encode_ack(PacketType::kPuback, 1, onenet::MutableByteView(out.data(), 3))
            .status() == Status::kBufferTooSmall);
}

TEST_CASE("PINGREQ, PINGRESP, DISCONNECT: two bytes, nothing else allowed") {
  struct Case {
    PacketType type;
    uint8_t first;
  };
  for (const Case c : {Case{PacketType::kPingreq, 0xC0}, Case{PacketType::kPingresp, 0xD0},
                       Case{PacketType::kDisconnect, 0xE0}}) {
    CAPTURE(c.first);
    Bytes out(2);
    REQUIRE(onenet::codec::encode_empty(c.type, onenet::MutableByteView(out.data(), 2)).ok());
    CHECK(out == Bytes{c.first, 0x00});  // type, remaining length 0
    CHECK(decode_ok(out).type == c.type);
    CHECK(decode_status({c.first, 0x01, 0x00}) == Status::kCodecTrailingBytes);
    CHECK(decode_status({static_cast<uint8_t>(c.first | 0x02), 0x00}) == Status::kCodecBadFlags);
  }
  Bytes out(2);
  CHECK(onenet::codec::encode_empty(PacketType::kPuback, onenet::MutableByteView(out.data(), 2))
            .status() == Status::kInvalidArgument);
}

TEST_CASE("encode_control writes every fixed-size packet as encode_ack and encode_empty do") {
  for (uint8_t t = 1; t <= 14; ++t) {
    const auto type = static_cast<PacketType>(t);
    CAPTURE(t);
    Bytes control(4), expected(4);
    const auto written =
        onenet::codec::encode_control(type, 0x1234, onenet::MutableByteView(control.data(), 4));
    const auto ack =
        onenet::codec::encode_ack(type, 0x1234, onenet::MutableByteView(expected.data(), 4));
    const auto empty =
        onenet::codec::encode_empty(type, onenet::MutableByteView(expected.data(), 4));
    if (!ack.ok() && !empty.ok()) {
      CHECK(written.status() == Status::kInvalidArgument);
      continue;
    }
    REQUIRE(written.ok());
    CHECK(written.value() == (ack.ok() ? 4u : 2u));
    CHECK(control == expected);
    CHECK(onenet::codec::encode_control(type, 0x1234, onenet::MutableByteView()).value() ==
          written.value());  // no buffer: the size only
    CHECK(onenet::codec::encode_control(type, 0x1234, onenet::MutableByteView(control.data(), 1))
              .status() == Status::kBufferTooSmall);
    if (ack.ok()) {
      CHECK(onenet::codec::encode_control(type, 0, onenet::MutableByteView(control.data(), 4))
                .status() == Status::kCodecZeroPacketId);
    }
  }
}

TEST_CASE("decode_from_server refuses what only clients send") {
  onenet::codec::Packet p;
  for (const Bytes& frame :
       {Bytes{0xC0, 0x00}, Bytes{0xE0, 0x00}, Bytes{0x82, 0x06, 0, 1, 0, 1, 'a', 0},
        Bytes{0xA2, 0x05, 0, 1, 0, 1, 'a'}}) {
    CHECK(onenet::codec::decode_from_server(onenet::ByteView(frame.data(), frame.size()), &p) ==
          Status::kCodecBadPacketType);
    CHECK(decode_status(frame) == Status::kOk);  // the broker-side decoder accepts them
  }
}
