// The streaming decoder: any split of the input decodes the same packets.
#include <algorithm>
#include <random>

#include "codec_helpers.hpp"
#include "onenet/codec/stream_decoder.hpp"

using namespace codec_test;
using onenet::Status;
using onenet::codec::Packet;
using onenet::codec::QoS;
using onenet::codec::StreamDecoder;

namespace {

// One of every packet type, concatenated.
Bytes every_packet() {
  Bytes all;
  auto add = [&](const Bytes& b) { all.insert(all.end(), b.begin(), b.end()); };
  onenet::codec::Connect c;
  c.client_id = "dev";
  c.has_username = true;
  c.username = "u";
  add(encode_bytes(c));
  add(encode_bytes(onenet::codec::Connack{}));
  onenet::codec::Publish p;
  p.topic = "a/b";
  p.payload = std::string_view("payload");
  add(encode_bytes(p));
  p.qos = QoS::kAtLeastOnce;
  p.packet_id = 9;
  const std::string big(300, 'q');
  p.payload = std::string_view(big);
  add(encode_bytes(p));
  for (uint8_t first : {0x40, 0x50, 0x62, 0x70, 0xB0}) add({first, 2, 0, 9});
  const onenet::codec::Subscription sub{"a/#", QoS::kAtLeastOnce};
  add(encode_bytes(onenet::codec::Subscribe{5, &sub, 1}));
  const uint8_t codes[] = {1};
  add(encode_bytes(onenet::codec::Suback{5, onenet::ByteView(codes, 1)}));
  const std::string_view filter = "a/#";
  add(encode_bytes(onenet::codec::Unsubscribe{6, &filter, 1}));
  add({0xC0, 0, 0xD0, 0, 0xE0, 0});
  return all;
}

constexpr size_t kPacketCount = 15;

// Describes a decoded packet well enough to compare two decodings.
std::string describe(const Packet& p) {
  std::string s = std::to_string(static_cast<int>(p.type)) + ":" + std::to_string(p.packet_id);
  if (p.type == onenet::codec::PacketType::kPublish) {
    s += ":" + std::string(p.publish.topic) + ":" + text(p.publish.payload);
  }
  if (p.type == onenet::codec::PacketType::kConnect) s += ":" + std::string(p.connect.client_id);
  return s;
}

// Feeds `input` in chunks of the sizes `next_chunk` gives; returns every packet described.
template <typename NextChunk>
std::vector<std::string> decode_in_chunks(const Bytes& input, NextChunk next_chunk) {
  std::vector<uint8_t> buffer(512);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 512,
                        onenet::codec::decode);
  std::vector<std::string> seen;
  size_t at = 0;
  while (at < input.size()) {
    const size_t n = std::min(next_chunk(), input.size() - at);
    onenet::ByteView chunk(input.data() + at, n);
    at += n;
    for (;;) {
      Packet p;
      const auto r = decoder.feed(chunk, &p);
      chunk = onenet::ByteView(chunk.data + r.consumed, chunk.size - r.consumed);
      if (r.status == Status::kOk) {
        seen.push_back(describe(p));
        continue;
      }
      REQUIRE(r.status == Status::kCodecNeedMore);
      if (chunk.size == 0) break;
    }
  }
  CHECK(decoder.buffered() == 0);
  return seen;
}

}  // namespace

TEST_CASE("every packet decodes identically whole, one byte at a time, and in random splits") {
  const Bytes input = every_packet();
  const auto whole = decode_in_chunks(input, [&] { return input.size(); });
  REQUIRE(whole.size() == kPacketCount);
  CHECK(decode_in_chunks(input, [] { return size_t{1}; }) == whole);
  std::mt19937 random(12345);
  for (int round = 0; round < 200; ++round) {
    std::uniform_int_distribution<size_t> size(1, 1 + round % 64);
    CHECK(decode_in_chunks(input, [&] { return size(random); }) == whole);
  }
}

TEST_CASE("receiving in place: free_space and commit yield the same packets") {
  const Bytes input = every_packet();
  std::vector<uint8_t> buffer(400);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 400,
                        onenet::codec::decode);
  size_t at = 0;
  size_t packets = 0;
  while (at < input.size()) {
    const onenet::MutableByteView space = decoder.free_space();
    const size_t n = std::min({space.size, input.size() - at, size_t{7}});
    std::copy_n(input.data() + at, n, space.data);
    decoder.commit(n);
    at += n;
    Packet p;
    Status s;
    while ((s = decoder.next(&p)) == Status::kOk) ++packets;
    REQUIRE(s == Status::kCodecNeedMore);
  }
  CHECK(packets == kPacketCount);
}

TEST_CASE("an oversized packet is refused from its header, before the body is buffered") {
  std::vector<uint8_t> buffer(64);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 32,
                        onenet::codec::decode);
  const Bytes header = {0x30, 0xFF, 0xFF, 0x03};  // PUBLISH of 65,535 bytes
  Packet p;
  auto r = decoder.feed(onenet::ByteView(header.data(), 2), &p);
  CHECK(r.status == Status::kCodecNeedMore);
  r = decoder.feed(onenet::ByteView(header.data() + 2, 2), &p);
  CHECK(r.status == Status::kCodecPacketTooLarge);
  // The error sticks: framing is lost until reset().
  const Bytes ping = {0xD0, 0x00};
  CHECK(decoder.feed(onenet::ByteView(ping.data(), 2), &p).status == Status::kCodecPacketTooLarge);
  decoder.reset();
  CHECK(decoder.feed(onenet::ByteView(ping.data(), 2), &p).status == Status::kOk);
}

TEST_CASE("a malformed packet in the stream gives its precise status") {
  std::vector<uint8_t> buffer(64);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 64,
                        onenet::codec::decode_from_server);
  const Bytes bad = {0xD0, 0x00, 0x20, 0x02, 0x00, 0x07};  // PINGRESP, then CONNACK code 7
  Packet p;
  auto r = decoder.feed(onenet::ByteView(bad.data(), bad.size()), &p);
  CHECK(r.status == Status::kOk);
  CHECK(p.type == onenet::codec::PacketType::kPingresp);
  r = decoder.feed(onenet::ByteView(bad.data() + r.consumed, bad.size() - r.consumed), &p);
  CHECK(r.status == Status::kCodecBadReturnCode);
}
