// Streaming MQTT decoder over a caller-owned buffer: feed it any number of bytes at a time (one
// included) and it yields whole packets. Two ways to fill it:
//   - feed(input, &packet): copies from your bytes (tests, fuzzers, simple transports);
//   - free_space() + commit(n): your transport receives straight into the buffer (no copy).
// Oversized packets are refused from the fixed header, before their body is buffered; the
// caller may then skip_frame() and go on with the next packet. After any other error the stream
// has lost framing: the decoder keeps returning that error until reset(). Not thread-safe; no
// heap.
#pragma once

#include <cstddef>

#include "onenet/codec/packets.hpp"

namespace onenet::codec {

class StreamDecoder {
 public:
  /// `buffer` (at least 5 bytes) must outlive the decoder. Frames larger than
  /// min(max_frame_length, buffer.size) are refused with kCodecPacketTooLarge. `decode_frame` is
  /// decode_from_server for a client, decode for a broker or a test.
  StreamDecoder(MutableByteView buffer, size_t max_frame_length, DecodeFunction decode_frame);

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
  DecodeFunction decode_frame_;
  uint8_t* buffer_;
  uint32_t capacity_;
  uint32_t max_frame_length_;
  uint32_t start_ = 0;
  uint32_t end_ = 0;
  uint32_t last_frame_length_ = 0;
  uint32_t refused_length_ = 0;  // the frame refused as too large, until skip_frame()
  uint32_t skip_remaining_ = 0;  // bytes of a skipped frame not yet discarded
  Status error_ = Status::kOk;
};

}  // namespace onenet::codec
