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
                        onenet::codec::decode_body);
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
                        onenet::codec::decode_body);
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
                        onenet::codec::decode_body);
  const Bytes header = {0x82, 0xFF, 0xFF, 0x03};  // SUBSCRIBE of 65,535 bytes
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

TEST_CASE("an oversized PUBLISH is described once its topic and id are in, and can be skipped") {
  std::vector<uint8_t> buffer(64);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 32,
                        onenet::codec::decode_body_from_server);
  Packet p;
  CHECK(decoder.skip_frame() == Status::kInvalidArgument);  // nothing refused yet

  // QoS 1 PUBLISH "a/b", id 7, 100-byte payload (107 bytes after the header), then PINGRESP.
  Bytes stream = {0x32, 0x6B, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x07};
  stream.insert(stream.end(), 100, 'x');
  const size_t ping_at = stream.size();
  stream.insert(stream.end(), {0xD0, 0x00});

  size_t at = 0;
  auto feed_byte = [&] {
    const auto r = decoder.feed(onenet::ByteView(stream.data() + at, 1), &p);
    at += r.consumed;
    return r.status;
  };
  // The header alone already says "too large", but the topic and id are still to come.
  while (at < 8) REQUIRE(feed_byte() == Status::kCodecNeedMore);
  CHECK(feed_byte() == Status::kCodecPacketTooLarge);  // the id's last byte completes it
  CHECK(p.type == onenet::codec::PacketType::kPublish);
  CHECK(p.publish.topic == "a/b");
  CHECK(p.publish.qos == onenet::codec::QoS::kAtLeastOnce);
  CHECK(p.publish.packet_id == 7);
  CHECK(decoder.next(&p) == Status::kCodecPacketTooLarge);  // sticky until skipped

  REQUIRE(decoder.skip_frame() == Status::kOk);
  CHECK(decoder.skip_frame() == Status::kInvalidArgument);              // once per refused frame
  while (at < ping_at) REQUIRE(feed_byte() == Status::kCodecNeedMore);  // discarded as it comes
  CHECK(feed_byte() == Status::kCodecNeedMore);
  CHECK(feed_byte() == Status::kOk);
  CHECK(p.type == onenet::codec::PacketType::kPingresp);
  CHECK(decoder.next(&p) == Status::kCodecNeedMore);
  CHECK(decoder.buffered() == 0);  // nothing of the skipped frame stayed behind
}

TEST_CASE("an oversized PUBLISH can be taken in parts: whole, in order, for any split") {
  // QoS 1 PUBLISH "a/b", id 7, 300-byte payload, then PINGRESP; a 32-byte buffer.
  std::string payload(300, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 13 + i / 256);
  onenet::codec::Publish big;
  big.topic = "a/b";
  big.qos = QoS::kAtLeastOnce;
  big.packet_id = 7;
  big.payload = std::string_view(payload);
  Bytes stream = encode_bytes(big);
  stream.insert(stream.end(), {0xD0, 0x00});

  for (const size_t chunk :
       {size_t{1}, size_t{2}, size_t{5}, size_t{31}, size_t{32}, size_t{400}}) {
    CAPTURE(chunk);
    std::vector<uint8_t> buffer(32);
    StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 32,
                          onenet::codec::decode_body_from_server);
    StreamDecoder::PayloadPart part;
    CHECK(decoder.stream_frame() == Status::kInvalidArgument);    // nothing refused
    CHECK(decoder.next_part(&part) == Status::kInvalidArgument);  // nothing streamed
    std::string received;
    size_t parts = 0, pings = 0, at = 0;
    bool streamed = false;
    Packet p;
    while (at < stream.size() || decoder.buffered() > 0) {
      const onenet::MutableByteView space = decoder.free_space();
      const size_t n = std::min({space.size, stream.size() - at, chunk});
      std::copy_n(stream.data() + at, n, space.data);
      decoder.commit(n);
      at += n;
      for (;;) {
        if (decoder.streaming()) {
          CHECK(decoder.next(&p) == Status::kCodecNeedMore);  // packets wait for the last part
          const Status s = decoder.next_part(&part);
          if (s == Status::kCodecNeedMore) break;
          REQUIRE(s == Status::kOk);
          ++parts;
          CHECK(part.publish.topic == "a/b");
          CHECK(part.publish.packet_id == 7);
          CHECK(part.publish.qos == QoS::kAtLeastOnce);
          CHECK(part.total == 300);
          CHECK(part.offset == received.size());
          CHECK(part.publish.payload.size > 0);
          received.append(part.publish.payload.as_text());
          CHECK(part.last() == (received.size() == 300));
          continue;
        }
        const Status s = decoder.next(&p);
        if (s == Status::kCodecNeedMore) break;
        if (s == Status::kCodecPacketTooLarge) {
          REQUIRE(!streamed);
          CHECK(p.publish.topic == "a/b");
          REQUIRE(decoder.stream_frame() == Status::kOk);
          CHECK(decoder.stream_frame() == Status::kInvalidArgument);  // once per frame
          streamed = true;
          continue;
        }
        REQUIRE(s == Status::kOk);
        CHECK(p.type == onenet::codec::PacketType::kPingresp);
        ++pings;
      }
      if (n == 0 && !decoder.streaming()) break;
    }
    CHECK(received == payload);
    CHECK(pings == 1);
    CHECK(parts >= (chunk >= 300 ? 10u : 1u));  // 32 bytes of buffer hold at most 25 at once
    CHECK(decoder.buffered() == 0);
  }
}

namespace {

// Feeds `stream` to a decoder over 16 bytes (frames up to `max_frame`): the frame is refused
// as too large, cannot be streamed, and can be skipped. Returns the topic the refusal described.
std::string refused_not_streamable(const Bytes& stream, onenet::codec::BodyDecodeFunction decode,
                                   size_t max_frame = 16) {
  std::vector<uint8_t> buffer(16);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), max_frame, decode);
  Packet p;
  REQUIRE(decoder.feed(onenet::ByteView(stream.data(), stream.size()), &p).status ==
          Status::kCodecPacketTooLarge);
  CHECK(decoder.stream_frame() == Status::kInvalidArgument);
  CHECK(decoder.skip_frame() == Status::kOk);
  return p.type == onenet::codec::PacketType::kPublish ? std::string(p.publish.topic) : "";
}

}  // namespace

TEST_CASE("only a PUBLISH whose topic and id were read, with room left, can be streamed") {
  // SUBSCRIBE refused as too large: skipped, never streamed.
  refused_not_streamable({0x82, 0x40, 0x00, 0x01}, onenet::codec::decode_body);
  // A topic that does not fit: no topic to keep, so no parts.
  Bytes long_topic = {0x30, 0x2C, 0x00, 0x28};  // QoS 0, a 40-character topic, 2-byte payload
  long_topic.insert(long_topic.end(), 42, 't');
  CHECK(refused_not_streamable(long_topic, onenet::codec::decode_body_from_server).empty());
  // Headers that fill the buffer exactly: no room for a byte of payload.
  Bytes full = {0x30, 0x10, 0x00, 0x0C};  // QoS 0, a 12-character topic, 2-byte payload
  full.insert(full.end(), 14, 't');
  CHECK(refused_not_streamable(full, onenet::codec::decode_body_from_server) == "tttttttttttt");
  // No payload: a frame within the buffer but over a lower frame limit has nothing to stream.
  const Bytes empty = {0x30, 0x0A, 0x00, 0x08, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
  CHECK(refused_not_streamable(empty, onenet::codec::decode_body_from_server, 8) == "abcdefgh");
}

TEST_CASE("an oversized PUBLISH whose topic does not fit the buffer comes without a topic") {
  std::vector<uint8_t> buffer(16);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 16,
                        onenet::codec::decode_body_from_server);
  Bytes stream = {0x32, 0x2E, 0x00, 0x28};  // QoS 1, a 40-character topic, id 1, 2-byte payload
  stream.insert(stream.end(), 40, 't');
  stream.insert(stream.end(), {0x00, 0x01, 'p', 'p'});
  stream.insert(stream.end(), {0xD0, 0x00});
  Packet p;
  size_t at = 0;
  onenet::codec::StreamDecoder::FeedResult r{Status::kCodecNeedMore, 0};
  while (r.status == Status::kCodecNeedMore && at < stream.size()) {
    r = decoder.feed(onenet::ByteView(stream.data() + at, stream.size() - at), &p);
    at += r.consumed;
  }
  REQUIRE(r.status == Status::kCodecPacketTooLarge);
  CHECK(at == buffer.size());  // it waited for the topic until the buffer was full
  CHECK(p.type == onenet::codec::PacketType::kPublish);
  CHECK(p.publish.topic.empty());
  CHECK(p.publish.qos == onenet::codec::QoS::kAtLeastOnce);  // from the fixed header
  // Skipping still works: the stream goes on after it.
  REQUIRE(decoder.skip_frame() == Status::kOk);
  r = decoder.feed(onenet::ByteView(stream.data() + at, stream.size() - at), &p);
  at += r.consumed;
  while (r.status == Status::kCodecNeedMore && at < stream.size()) {
    r = decoder.feed(onenet::ByteView(stream.data() + at, stream.size() - at), &p);
    at += r.consumed;
  }
  CHECK(r.status == Status::kOk);
  CHECK(p.type == onenet::codec::PacketType::kPingresp);
}

TEST_CASE("a malformed packet in the stream gives its precise status") {
  std::vector<uint8_t> buffer(64);
  StreamDecoder decoder(onenet::MutableByteView(buffer.data(), buffer.size()), 64,
                        onenet::codec::decode_body_from_server);
  const Bytes bad = {0xD0, 0x00, 0x20, 0x02, 0x00, 0x07};  // PINGRESP, then CONNACK code 7
  Packet p;
  auto r = decoder.feed(onenet::ByteView(bad.data(), bad.size()), &p);
  CHECK(r.status == Status::kOk);
  CHECK(p.type == onenet::codec::PacketType::kPingresp);
  r = decoder.feed(onenet::ByteView(bad.data() + r.consumed, bad.size() - r.consumed), &p);
  CHECK(r.status == Status::kCodecBadReturnCode);
}
