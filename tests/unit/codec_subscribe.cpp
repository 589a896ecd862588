// SUBSCRIBE, SUBACK, UNSUBSCRIBE.
#include "codec_helpers.hpp"

using namespace codec_test;
using onenet::Status;
using onenet::codec::QoS;
using onenet::codec::Subscription;

TEST_CASE("SUBSCRIBE with two filters, then iterating the decoded list") {
  const Subscription subs[] = {{"a/+", QoS::kAtLeastOnce}, {"#", QoS::kExactlyOnce}};
  onenet::codec::Subscribe s;
  s.packet_id = 10;
  s.subscriptions = subs;
  s.count = 2;
  const Bytes expected = {
      0x82, 12,                   // SUBSCRIBE, flags 0010 [MQTT-3.8.1-1], remaining length 12
      0x00, 0x0A,                 // packet identifier 10
      0x00, 0x03, 'a', '/', '+',  // filter 1
      0x01,                       // requested QoS 1
      0x00, 0x01, '#',            // filter 2
      0x02,                       // requested QoS 2
  };
  CHECK(encode_bytes(s) == expected);
  const auto d = decode_ok(expected);
  CHECK(d.packet_id == 10);
  onenet::ByteView cursor = d.list;
  Subscription entry;
  REQUIRE(onenet::codec::next_filter(&cursor, true, &entry));
  CHECK(entry.filter == "a/+");
  CHECK(entry.qos == QoS::kAtLeastOnce);
  REQUIRE(onenet::codec::next_filter(&cursor, true, &entry));
  CHECK(entry.filter == "#");
  CHECK(entry.qos == QoS::kExactlyOnce);
  CHECK_FALSE(onenet::codec::next_filter(&cursor, true, &entry));
}

TEST_CASE("SUBSCRIBE encoding refuses no filters, bad filters, id 0, QoS 3") {
  onenet::codec::Subscribe s;
  s.packet_id = 1;
  CHECK(onenet::codec::encoded_size(s).status() == Status::kCodecEmptySubscription);
  for (const char* bad : {"", "a/#/b", "a+", "+a", "#a", "a/b#"}) {
    CAPTURE(bad);
    const Subscription sub{bad, QoS::kAtMostOnce};
    s.subscriptions = &sub;
    s.count = 1;
    CHECK(onenet::codec::encoded_size(s).status() == Status::kCodecBadTopicFilter);
  }
  const Subscription ok{"a", QoS::kAtMostOnce};
  s.subscriptions = &ok;
  s.packet_id = 0;
  CHECK(onenet::codec::encoded_size(s).status() == Status::kCodecZeroPacketId);
  const Subscription bad_qos{"a", static_cast<QoS>(3)};
  s.subscriptions = &bad_qos;
  s.packet_id = 1;
  CHECK(onenet::codec::encoded_size(s).status() == Status::kCodecBadQos);
}

TEST_CASE("SUBSCRIBE decoding: every malformed case") {
  CHECK(decode_status({0x80, 0x06, 0, 1, 0, 1, 'a', 0}) == Status::kCodecBadFlags);  // flags 0000
  CHECK(decode_status({0x82, 0x02, 0, 1}) == Status::kCodecEmptySubscription);  // [MQTT-3.8.3-3]
  CHECK(decode_status({0x82, 0x06, 0, 0, 0, 1, 'a', 0}) == Status::kCodecZeroPacketId);
  CHECK(decode_status({0x82, 0x06, 0, 1, 0, 1, 'a', 3}) == Status::kCodecBadQos);
  CHECK(decode_status({0x82, 0x06, 0, 1, 0, 1, 'a', 0x41}) ==
        Status::kCodecBadQos);  // reserved bits
  CHECK(decode_status({0x82, 0x07, 0, 1, 0, 2, 'a', '#', 0}) == Status::kCodecBadTopicFilter);
  CHECK(decode_status({0x82, 0x05, 0, 1, 0, 1, 'a'}) == Status::kCodecTruncated);  // no QoS byte
}

TEST_CASE("SUBACK: one code per filter, failure 0x80 included") {
  const uint8_t codes[] = {0x00, 0x01, 0x02, 0x80};
  onenet::codec::Suback s;
  s.packet_id = 7;
  s.return_codes = onenet::ByteView(codes, 4);
  const Bytes expected = {
      0x90, 6,                 // SUBACK, remaining length 6
      0x00, 0x07,              // packet identifier
      0x00, 0x01, 0x02, 0x80,  // return codes
  };
  CHECK(encode_bytes(s) == expected);
  onenet::codec::Packet d;
  REQUIRE(onenet::codec::decode_from_server(onenet::ByteView(expected.data(), expected.size()),
                                            &d) == Status::kOk);
  CHECK(d.packet_id == 7);
  CHECK(d.list.size == 4);
  CHECK(d.list.data[3] == 0x80);
  CHECK(decode_status({0x90, 3, 0, 7, 0x03}) == Status::kCodecBadReturnCode);  // [MQTT-3.9.3-2]
  CHECK(decode_status({0x90, 3, 0, 7, 0x81}) == Status::kCodecBadReturnCode);
  CHECK(decode_status({0x90, 2, 0, 7}) == Status::kCodecEmptySubscription);
  const uint8_t bad[] = {0x05};
  s.return_codes = onenet::ByteView(bad, 1);
  CHECK(onenet::codec::encoded_size(s).status() == Status::kCodecBadReturnCode);
}

TEST_CASE("UNSUBSCRIBE: vector, iteration and malformed cases") {
  const std::string_view filters[] = {"a/b", "c/#"};
  onenet::codec::Unsubscribe u;
  u.packet_id = 0x0203;
  u.filters = filters;
  u.count = 2;
  const Bytes expected = {
      0xA2, 12,                   // UNSUBSCRIBE, flags 0010 [MQTT-3.10.1-1], length 12
      0x02, 0x03,                 // packet identifier
      0x00, 0x03, 'a', '/', 'b',  // filter 1
      0x00, 0x03, 'c', '/', '#',  // filter 2
  };
  CHECK(encode_bytes(u) == expected);
  const auto d = decode_ok(expected);
  onenet::ByteView cursor = d.list;
  Subscription entry;
  REQUIRE(onenet::codec::next_filter(&cursor, false, &entry));
  CHECK(entry.filter == "a/b");
  REQUIRE(onenet::codec::next_filter(&cursor, false, &entry));
  CHECK(entry.filter == "c/#");
  CHECK_FALSE(onenet::codec::next_filter(&cursor, false, &entry));

  CHECK(decode_status({0xA2, 0x02, 0, 1}) == Status::kCodecEmptySubscription);  // [MQTT-3.10.3-2]
  CHECK(decode_status({0xA0, 0x05, 0, 1, 0, 1, 'a'}) == Status::kCodecBadFlags);
  CHECK(decode_status({0xA2, 0x05, 0, 1, 0, 1, '+'}) == Status::kOk);
  CHECK(decode_status({0xA2, 0x06, 0, 1, 0, 2, '+', 'x'}) == Status::kCodecBadTopicFilter);
  u.count = 0;
  CHECK(onenet::codec::encoded_size(u).status() == Status::kCodecEmptySubscription);
}
