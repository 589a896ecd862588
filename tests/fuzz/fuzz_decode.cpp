// Decoder fuzzer. Oracles: nothing crashes; the streaming decoder, fed in splits chosen by the
// input, agrees with whole-frame decoding; and whatever decodes re-encodes to the same bytes
// (the decoder accepts only canonical encodings, so decode-then-encode is the identity). A pass
// with a small buffer takes oversized PUBLISH frames in parts and must agree with whole frames.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
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

// A client-side pass with a small buffer (`capacity` bytes, frames up to `max_frame`): an
// oversized PUBLISH is taken in parts when its headers fit (or skipped), any other oversized
// frame skipped. Every packet, streamed frame and skipped frame must line up with the next frame
// of the stream split by decode_header, and agree with decode_from_server of that frame: a
// streamed PUBLISH has its topic and id, and its parts, in order, make its payload.
void small_buffer_pass(ByteView stream, size_t chunk, size_t capacity, size_t max_frame) {
  std::vector<uint8_t> buffer(capacity);
  StreamDecoder decoder(MutableByteView(buffer.data(), buffer.size()), max_frame,
                        decode_body_from_server);
  size_t frame_at = 0;  // where the next expected frame starts in `stream`
  // The next frame of the stream, decoded whole: false when none is complete.
  auto next_frame = [&](Packet* whole, Status* status) {
    FrameHeader h;
    const ByteView rest(stream.data + frame_at, stream.size - frame_at);
    if (decode_header(rest, SIZE_MAX, &h) != Status::kOk || rest.size < h.frame_length()) {
      return false;
    }
    *status = decode_from_server(ByteView(rest.data, h.frame_length()), whole);
    frame_at += h.frame_length();
    return true;
  };
  std::string parts;
  std::string streamed_topic;  // a copy: the decoder moves its buffer's bytes
  uint16_t streamed_id = 0;
  size_t fed = 0;
  for (;;) {
    if (decoder.streaming()) {
      StreamDecoder::PayloadPart part;
      const Status s = decoder.next_part(&part);
      if (s == Status::kOk) {
        require(part.publish.topic == streamed_topic);
        require(part.publish.packet_id == streamed_id);
        require(part.offset == parts.size() && part.publish.payload.size > 0);
        parts.append(part.publish.payload.as_text());
        if (part.last()) {
          require(parts.size() == part.total);
          Packet whole;
          Status status;
          require(next_frame(&whole, &status));
          require(status == Status::kOk && whole.type == PacketType::kPublish);
          require(whole.publish.topic == streamed_topic);
          require(whole.publish.packet_id == streamed_id);
          require(whole.publish.payload.as_text() == parts);
        }
        continue;
      }
      require(s == Status::kCodecNeedMore);
    } else {
      Packet p;
      const Status s = decoder.next(&p);
      if (s == Status::kOk) {
        Packet whole;
        Status status;
        require(next_frame(&whole, &status));
        require(status == Status::kOk && whole.type == p.type);
        if (p.type == PacketType::kPublish) {
          require(whole.publish.topic == p.publish.topic);
          require(whole.publish.payload.as_text() == p.publish.payload.as_text());
        }
        continue;
      }
      if (s == Status::kCodecPacketTooLarge) {
        if (decoder.stream_frame() == Status::kOk) {
          streamed_topic = std::string(p.publish.topic);
          streamed_id = p.publish.packet_id;
          parts.clear();
          continue;
        }
        require(decoder.skip_frame() == Status::kOk);
        FrameHeader h;
        const ByteView rest(stream.data + frame_at, stream.size - frame_at);
        require(decode_header(rest, SIZE_MAX, &h) == Status::kOk);
        frame_at += h.frame_length();  // may pass the end: the stream stops inside it
        continue;
      }
      if (s != Status::kCodecNeedMore) {  // an error: the next frame is malformed too
        Packet whole;
        Status status;
        if (next_frame(&whole, &status)) require(status != Status::kOk);
        return;
      }
    }
    if (fed == stream.size) return;
    const MutableByteView space = decoder.free_space();
    require(space.size > 0);  // never stuck: a buffered frame always makes progress
    const size_t n = std::min({space.size, stream.size - fed, chunk});
    std::memcpy(space.data, stream.data + fed, n);
    decoder.commit(n);
    fed += n;
  }
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
  StreamDecoder decoder(MutableByteView(buffer.data(), buffer.size()), 4096, decode_body);
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

  // 8 to 68 bytes; frames limited to the buffer, or (odd first bytes) to 5 bytes less.
  const size_t capacity = 8 + data[0] / 16 * 4;
  small_buffer_pass(stream, chunk, capacity, data[0] & 1 ? capacity - 5 : capacity);
  return 0;
}
