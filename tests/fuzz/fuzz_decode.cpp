// Decoder fuzzer. Oracles: nothing crashes; the streaming decoder, fed in splits chosen by the
// input, agrees with whole-frame decoding; and whatever decodes re-encodes to the same bytes
// (the decoder accepts only canonical encodings, so decode-then-encode is the identity).
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "onenet/codec/packets.hpp"
#include "onenet/codec/stream_decoder.hpp"
#include "onenet/codec/topic.hpp"

using namespace onenet;
using namespace onenet::codec;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

// Re-encodes `p` and checks it equals `frame`.
void check_round_trip(const Packet& p, ByteView frame) {
  std::vector<uint8_t> out(frame.size + 8);
  MutableByteView view(out.data(), out.size());
  Result<size_t> written = Status::kInternalError;
  std::vector<Subscription> subs;
  std::vector<std::string_view> filters;
  switch (p.type) {
    case PacketType::kConnect:
      written = encode(p.connect, view);
      break;
    case PacketType::kConnack:
      written = encode(p.connack, view);
      break;
    case PacketType::kPublish:
      written = encode(p.publish, view);
      break;
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe: {
      const bool with_qos = p.type == PacketType::kSubscribe;
      ByteView cursor = p.list;
      Subscription s;
      while (next_filter(&cursor, with_qos, &s)) {
        subs.push_back(s);
        filters.push_back(s.filter);
      }
      written = with_qos ? encode(Subscribe{p.packet_id, subs.data(), subs.size()}, view)
                         : encode(Unsubscribe{p.packet_id, filters.data(), filters.size()}, view);
      break;
    }
    case PacketType::kSuback:
      written = encode(Suback{p.packet_id, p.list}, view);
      break;
    case PacketType::kPingreq:
    case PacketType::kPingresp:
    case PacketType::kDisconnect:
      written = encode_empty(p.type, view);
      break;
    default:
      written = encode_ack(p.type, p.packet_id, view);
      break;
  }
  require(written.ok());
  require(written.value() == frame.size);
  require(std::memcmp(out.data(), frame.data, frame.size) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the chunk size for the streaming pass; the rest is the stream.
  const size_t chunk = 1 + data[0] % 16;
  const ByteView stream(data + 1, size - 1);

  // Whole-frame pass: split the stream with decode_header, decode each frame.
  std::vector<int> whole;
  size_t at = 0;
  while (at < stream.size) {
    FrameHeader h;
    const ByteView rest(stream.data + at, stream.size - at);
    Status s = decode_header(rest, 4096, &h);
    if (s == Status::kOk && rest.size < h.frame_length()) s = Status::kCodecNeedMore;
    if (s == Status::kCodecPacketTooLarge && (h.first_byte >> 4) == 3) {
      // An oversized PUBLISH is described (topic, id) before it is refused: the streaming
      // decoder waits for its topic, and for its id after a valid topic, while it has room.
      const size_t at = h.header_length + 2u;
      bool waits = rest.size < at;
      if (!waits) {
        const size_t topic = size_t{rest.data[h.header_length]} << 8 | rest.data[at - 1];
        waits = rest.size < at + topic ||
                (check_topic_name(std::string_view(reinterpret_cast<const char*>(rest.data + at),
                                                   topic)) == Status::kOk &&
                 (h.first_byte & 0x06) != 0 && rest.size < at + topic + 2);
      }
      if (waits) s = Status::kCodecNeedMore;
    }
    if (s != Status::kOk) {
      whole.push_back(static_cast<int>(s));
      break;
    }
    Packet p;
    const ByteView frame(rest.data, h.frame_length());
    s = decode(frame, &p);
    whole.push_back(static_cast<int>(s));
    if (s != Status::kOk) break;
    Packet from_server;
    const Status server = decode_from_server(frame, &from_server);
    require(server == Status::kOk || server == Status::kCodecBadPacketType);
    check_round_trip(p, frame);
    at += h.frame_length();
  }

  // Streaming pass over the same bytes must see the same sequence of results.
  std::vector<uint8_t> buffer(4096);
  StreamDecoder decoder(MutableByteView(buffer.data(), buffer.size()), 4096, decode);
  std::vector<int> streamed;
  size_t fed = 0;
  bool stopped = false;
  while (!stopped && fed < stream.size) {
    const size_t n = stream.size - fed < chunk ? stream.size - fed : chunk;
    ByteView input(stream.data + fed, n);
    fed += n;
    for (;;) {
      Packet p;
      const StreamDecoder::FeedResult r = decoder.feed(input, &p);
      input = ByteView(input.data + r.consumed, input.size - r.consumed);
      if (r.status == Status::kOk) {
        streamed.push_back(0);
        continue;
      }
      if (r.status != Status::kCodecNeedMore) {
        streamed.push_back(static_cast<int>(r.status));
        stopped = true;
        break;
      }
      if (input.size == 0) break;
    }
  }
  if (!stopped && decoder.buffered() > 0)
    streamed.push_back(static_cast<int>(Status::kCodecNeedMore));
  require(streamed == whole);
  return 0;
}
