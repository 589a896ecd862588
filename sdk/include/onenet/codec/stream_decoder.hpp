// Streaming MQTT decoder over a caller-owned buffer: feed it any number of bytes at a time (one
// included) and it yields whole packets. Two ways to fill it:
//   - feed(input, &packet): copies from your bytes (tests, fuzzers, simple transports);
//   - free_space() + commit(n): your transport receives straight into the buffer (no copy).
// Oversized packets are refused from the fixed header, before their body is buffered; the
// caller may then skip_frame() and go on with the next packet, or, for a PUBLISH, stream_frame()
// and take its payload in parts. After any other error the stream has lost framing: the decoder
// keeps returning that error until reset(). Not thread-safe; no heap.
#pragma once

#include <cstddef>

#include "onenet/codec/packets.hpp"

namespace onenet::codec {

class StreamDecoder {
 public:
  /// `buffer` (at least 5 bytes) must outlive the decoder. Frames larger than
  /// min(max_frame_length, buffer.size) are refused with kCodecPacketTooLarge. `decode_body` is
  /// decode_body_from_server for a client, decode_body for a broker or a test.
  StreamDecoder(MutableByteView buffer, size_t max_frame_length, BodyDecodeFunction decode_body);

  struct FeedResult {
    Status status;    ///< kOk: `*out` holds a packet; kCodecNeedMore; or a decode error
    size_t consumed;  ///< bytes of `input` taken into the buffer (the rest: feed again)
  };

  /// Takes what fits of `input`, then tries to complete one packet. Call again with the
  /// unconsumed input (or empty input) while it returns kOk: one call yields one packet.
  /// Views in `*out` stay valid until the next non-const call.
  FeedResult feed(ByteView input, Packet* out);

  /// Decodes the next buffered packet without taking input: kOk, kCodecNeedMore or an error.
  /// kCodecPacketTooLarge (a frame over the limit) sets `out->type`; for a PUBLISH it also
  /// fills `out->publish` (topic, QoS, id; payload: the part buffered) once its variable header
  /// is buffered, waiting for it with kCodecNeedMore while the buffer has room. A PUBLISH whose
  /// topic cannot be read (it does not fit) comes with an empty topic (and no usable id).
  Status next(Packet* out);

  /// After next() returned kCodecPacketTooLarge: discards that frame, the bytes buffered and
  /// those still to come, and clears the error, so next() goes on with the packet after it.
  /// Views of the refused frame end here. kInvalidArgument when no frame was refused.
  Status skip_frame();

  /// One piece of the payload of a PUBLISH taken in parts (stream_frame()).
  struct PayloadPart {
    Publish publish;      ///< the message's topic, QoS, flags and id; `payload` is this piece
    uint32_t offset = 0;  ///< where the piece starts in the whole payload
    uint32_t total = 0;   ///< the whole payload's length
    bool last() const { return offset + publish.payload.size == total; }
  };

  /// After next() returned kCodecPacketTooLarge for a PUBLISH whose topic and id it read: takes
  /// that frame's payload in parts (next_part()) instead of skipping it. The frame's headers stay
  /// at the front of the buffer, so the topic stays readable, and the payload passes through the
  /// rest. kInvalidArgument when no such frame was refused, its headers fill the buffer, or it
  /// has no payload (skip_frame() it).
  Status stream_frame();

  /// While a frame is streamed (streaming()): the payload bytes buffered since the last part,
  /// kOk with at least one byte in `*out` (views valid until the next non-const call), or
  /// kCodecNeedMore. The part with last() ends the frame: next() goes on after it.
  /// kInvalidArgument when no frame is streamed.
  Status next_part(PayloadPart* out);

  /// A frame is being taken in parts and its last part is still to come: next_part(), not
  /// next() (which returns kCodecNeedMore meanwhile).
  bool streaming() const { return stream_offset_ < stream_total_; }

  /// Where a transport may receive into; invalidates views of the last packet.
  MutableByteView free_space();
  /// Marks `n` bytes written into free_space() as received.
  void commit(size_t n);

  /// Forgets buffered bytes and any error (after a reconnect).
  void reset();

  size_t buffered() const { return end_ - start_; }
  /// Bytes of the buffer in use (its size, up to 4 GiB).
  size_t capacity() const { return capacity_; }

 private:
  void release_last_packet();

  // Offsets in 32 bits: no MQTT frame is longer (268,435,460 bytes), and a buffer beyond 4 GiB
  // is used up to 4 GiB.
  BodyDecodeFunction decode_body_;
  uint8_t* buffer_;
  // The small fields here, where a Cortex-M's 16-bit loads reach them (client.hpp: layout).
  Status error_ = Status::kOk;
  uint8_t stream_fixed_header_ = 0;  // the streamed frame's fixed header length: where its topic is
  uint32_t capacity_;
  uint32_t max_frame_length_;
  uint32_t start_ = 0;
  uint32_t end_ = 0;
  uint32_t last_frame_length_ = 0;
  uint32_t refused_length_ = 0;  // the frame refused as too large, until skip_frame()
  uint32_t skip_remaining_ = 0;  // bytes of a skipped frame not yet discarded
  // A PUBLISH taken in parts: its headers (fixed and variable, kept at start_), its payload's
  // length (0: none streamed), the payload bytes handed over, and the last part's length (to
  // release at the next call).
  uint32_t stream_header_ = 0;
  uint32_t stream_total_ = 0;
  uint32_t stream_offset_ = 0;
  uint32_t part_length_ = 0;
};

}  // namespace onenet::codec
