// CONNECT and CONNACK: byte-exact vectors, round trips, every malformed case.
#include "codec_helpers.hpp"

using namespace codec_test;
using onenet::Status;
using onenet::codec::Connack;
using onenet::codec::Connect;
using onenet::codec::ConnectReturnCode;
using onenet::codec::QoS;

TEST_CASE("CONNECT as OneNET wants it: clean session, user name and password, no will") {
  Connect c;
  c.client_id = "dev1";
  c.keep_alive_seconds = 120;
  c.clean_session = true;
  c.has_username = true;
  c.username = "Pid";
  c.has_password = true;
  c.password = std::string_view("tok");
  const Bytes expected = {
      0x10, 26,                        // CONNECT, remaining length 26
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                            // protocol level 4 (3.1.1)
      0xC2,                            // flags: user name, password, clean session
      0x00, 120,                       // keep-alive 120 s
      0x00, 0x04, 'd', 'e', 'v', '1',  // client id
      0x00, 0x03, 'P', 'i', 'd',       // user name
      0x00, 0x03, 't', 'o', 'k',       // password
  };
  CHECK(encode_bytes(c) == expected);
  const auto p = decode_ok(expected);
  CHECK(p.type == onenet::codec::PacketType::kConnect);
  CHECK(p.connect.client_id == "dev1");
  CHECK(p.connect.keep_alive_seconds == 120);
  CHECK(p.connect.clean_session);
  CHECK_FALSE(p.connect.has_will);
  CHECK(p.connect.username == "Pid");
  CHECK(text(p.connect.password) == "tok");
}

TEST_CASE("CONNECT with a will (QoS 1, retained), persistent session, no credentials") {
  Connect c;
  c.client_id = "c";
  c.keep_alive_seconds = 0x1234;
  c.clean_session = false;
  c.has_will = true;
  c.will.topic = "w/t";
  c.will.payload = std::string_view("bye");
  c.will.qos = QoS::kAtLeastOnce;
  c.will.retain = true;
  const Bytes expected = {
      0x10, 23,                        // CONNECT, remaining length 23
      0x00, 0x04, 'M', 'Q', 'T', 'T',  // protocol name
      0x04,                            // level
      0x2C,                            // flags: will retain, will QoS 1, will flag
      0x12, 0x34,                      // keep-alive 0x1234
      0x00, 0x01, 'c',                 // client id
      0x00, 0x03, 'w', '/', 't',       // will topic
      0x00, 0x03, 'b', 'y', 'e',       // will message
  };
  CHECK(encode_bytes(c) == expected);
  const auto p = decode_ok(expected);
  CHECK_FALSE(p.connect.clean_session);
  CHECK(p.connect.has_will);
  CHECK(p.connect.will.topic == "w/t");
  CHECK(text(p.connect.will.payload) == "bye");
  CHECK(p.connect.will.qos == QoS::kAtLeastOnce);
  CHECK(p.connect.will.retain);
  CHECK_FALSE(p.connect.has_username);
}

TEST_CASE("CONNECT encoding refuses what the standard forbids") {
  Connect c;
  c.client_id = "";
  c.clean_session = false;
  CHECK(onenet::codec::encoded_size(c).status() ==
        Status::kCodecBadConnectFlags);  // [MQTT-3.1.3-7]
  c.clean_session = true;
  CHECK(onenet::codec::encoded_size(c).ok());  // empty id with clean session is fine
  c.has_password = true;
  CHECK(onenet::codec::encoded_size(c).status() ==
        Status::kCodecBadConnectFlags);  // [MQTT-3.1.2-22]
  c.has_password = false;
  c.has_will = true;
  c.will.topic = "a/+";
  CHECK(onenet::codec::encoded_size(c).status() == Status::kCodecBadTopicName);
  c.will.topic = "a";
  c.will.qos = static_cast<QoS>(3);
  CHECK(onenet::codec::encoded_size(c).status() == Status::kCodecBadQos);
  c.has_will = false;
  c.client_id = std::string_view("a\0b", 3);
  CHECK(onenet::codec::encoded_size(c).status() == Status::kCodecBadUtf8);
  const std::string long_id(65536, 'x');
  c.client_id = long_id;
  CHECK(onenet::codec::encoded_size(c).status() == Status::kCodecStringTooLong);
}

TEST_CASE("CONNECT into a buffer one byte short is refused") {
  Connect c;
  c.client_id = "abc";
  const auto size = onenet::codec::encoded_size(c);
  REQUIRE(size.ok());
  Bytes out(size.value() - 1);
  CHECK(onenet::codec::encode(c, onenet::MutableByteView(out.data(), out.size())).status() ==
        Status::kBufferTooSmall);
}

namespace {

// A minimal valid CONNECT body the malformed cases below each break in one place.
Bytes connect_frame(uint8_t flags, Bytes tail = {0x00, 0x01, 'c'},
                    Bytes name = {'M', 'Q', 'T', 'T'}, uint8_t level = 4) {
  Bytes body = {0x00, static_cast<uint8_t>(name.size())};
  body.insert(body.end(), name.begin(), name.end());
  body.push_back(level);
  body.push_back(flags);
  body.push_back(0x00);
  body.push_back(0x3C);
  body.insert(body.end(), tail.begin(), tail.end());
  Bytes frame = {0x10, static_cast<uint8_t>(body.size())};
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

}  // namespace

TEST_CASE("CONNECT decoding: every malformed case has its own status") {
  CHECK(decode_status(connect_frame(0x02)) == Status::kOk);
  // Protocol name other than "MQTT" [MQTT-3.1.2-1], level other than 4 [MQTT-3.1.2-2].
  CHECK(decode_status(connect_frame(0x02, {0, 1, 'c'}, {'M', 'Q', 'I', 's', 'd', 'p'})) ==
        Status::kCodecBadProtocol);
  CHECK(decode_status(connect_frame(0x02, {0, 1, 'c'}, {'M', 'Q', 'T', 'T'}, 3)) ==
        Status::kCodecBadProtocol);
  // Reserved flag bit set [MQTT-3.1.2-3].
  CHECK(decode_status(connect_frame(0x03)) == Status::kCodecBadConnectFlags);
  // Will QoS 3 [MQTT-3.1.2-14].
  CHECK(decode_status(connect_frame(0x1E, {0, 1, 'c', 0, 1, 't', 0, 0})) == Status::kCodecBadQos);
  // Will QoS or will retain without the will flag [MQTT-3.1.2-13], [MQTT-3.1.2-15].
  CHECK(decode_status(connect_frame(0x0A)) == Status::kCodecBadConnectFlags);
  CHECK(decode_status(connect_frame(0x22)) == Status::kCodecBadConnectFlags);
  // Password without user name [MQTT-3.1.2-22].
  CHECK(decode_status(connect_frame(0x42, {0, 1, 'c', 0, 1, 'p'})) ==
        Status::kCodecBadConnectFlags);
  // Empty client id without clean session [MQTT-3.1.3-7].
  CHECK(decode_status(connect_frame(0x00, {0, 0})) == Status::kCodecBadConnectFlags);
  // Will topic with a wildcard.
  CHECK(decode_status(connect_frame(0x06, {0, 1, 'c', 0, 1, '#', 0, 0})) ==
        Status::kCodecBadTopicName);
  // User name flag set but the field is missing: truncated.
  CHECK(decode_status(connect_frame(0x82)) == Status::kCodecTruncated);
  // A string whose length runs past the packet.
  CHECK(decode_status(connect_frame(0x02, {0x00, 0x09, 'c'})) == Status::kCodecTruncated);
  // Bytes after the last field.
  CHECK(decode_status(connect_frame(0x02, {0, 1, 'c', 0xFF})) == Status::kCodecTrailingBytes);
  // Client id with invalid UTF-8 [MQTT-3.1.3-4].
  CHECK(decode_status(connect_frame(0x02, {0, 1, 0xC0})) == Status::kCodecBadUtf8);
}

TEST_CASE("CONNACK: vectors for session present and each return code") {
  Connack c;
  c.session_present = true;
  CHECK(encode_bytes(c) == Bytes{0x20, 0x02,  // CONNACK, remaining length 2
                                 0x01,        // session present
                                 0x00});      // accepted
  for (uint8_t code = 0; code <= 5; ++code) {
    Connack refused;
    refused.return_code = static_cast<ConnectReturnCode>(code);
    const Bytes frame = encode_bytes(refused);
    CHECK(frame == Bytes{0x20, 0x02, 0x00, code});
    const auto p = onenet::codec::Packet{};
    (void)p;
    onenet::codec::Packet decoded;
    REQUIRE(onenet::codec::decode_from_server(onenet::ByteView(frame.data(), frame.size()),
                                              &decoded) == Status::kOk);
    CHECK(decoded.connack.return_code == static_cast<ConnectReturnCode>(code));
    CHECK_FALSE(decoded.connack.session_present);
  }
}

TEST_CASE("CONNACK malformed: reserved bits, unknown code, session present on a refusal") {
  CHECK(decode_status({0x20, 0x02, 0x02, 0x00}) == Status::kCodecBadFlags);       // bits 7-1
  CHECK(decode_status({0x20, 0x02, 0x00, 0x06}) == Status::kCodecBadReturnCode);  // 6 reserved
  CHECK(decode_status({0x20, 0x02, 0x01, 0x05}) == Status::kCodecBadFlags);       // [MQTT-3.2.2-4]
  CHECK(decode_status({0x20, 0x01, 0x00}) == Status::kCodecTruncated);
  CHECK(decode_status({0x20, 0x03, 0x00, 0x00, 0x00}) == Status::kCodecTrailingBytes);
  Connack bad;
  bad.return_code = static_cast<ConnectReturnCode>(9);
  CHECK(onenet::codec::encoded_size(bad).status() == Status::kCodecBadReturnCode);
  bad.return_code = ConnectReturnCode::kNotAuthorized;
  bad.session_present = true;
  CHECK(onenet::codec::encoded_size(bad).status() == Status::kCodecBadFlags);
}
