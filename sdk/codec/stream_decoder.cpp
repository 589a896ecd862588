#include "onenet/codec/stream_decoder.hpp"

#include <cstdint>
#include <cstring>

#include "wire.hpp"

namespace onenet::codec {

StreamDecoder::StreamDecoder(MutableByteView buffer, size_t max_frame_length,
                             BodyDecodeFunction decode_body)
    : decode_body_(decode_body),
      buffer_(buffer.data),
      capacity_(static_cast<uint32_t>(buffer.size < UINT32_MAX ? buffer.size : UINT32_MAX)),
      max_frame_length_(
          static_cast<uint32_t>(max_frame_length < capacity_ ? max_frame_length : capacity_)) {}

void StreamDecoder::release_last_packet() {
  if (part_length_ != 0) {
    // A part that is not the last took every buffered byte: drop it, keeping the headers. The
    // last part also ends the frame: drop the headers too.
    const uint32_t payload_at = start_ + stream_header_;
    if (stream_offset_ == stream_total_) {
      start_ = payload_at + part_length_;
      stream_header_ = stream_total_ = stream_offset_ = 0;
    } else {
      end_ = payload_at;
    }
    part_length_ = 0;
  }
  start_ += last_frame_length_;
  last_frame_length_ = 0;
  const uint32_t skipped = skip_remaining_ < end_ - start_ ? skip_remaining_ : end_ - start_;
  start_ += skipped;
  skip_remaining_ -= skipped;
  if (start_ == end_) start_ = end_ = 0;
}

Status StreamDecoder::next(Packet* out) {
  release_last_packet();
  if (error_ != Status::kOk) return error_;
  if (skip_remaining_ > 0 || streaming()) return Status::kCodecNeedMore;
  const ByteView available(buffer_ + start_, end_ - start_);
  FrameHeader header;
  Status s = decode_header(available, max_frame_length_, &header);
  if (s == Status::kOk || s == Status::kCodecPacketTooLarge) {
    // The frame's body as far as it is buffered (a refused frame's rarely is).
    const auto length = static_cast<uint32_t>(header.frame_length());
    const ByteView body(available.data + header.header_length,
                        (available.size < length ? available.size : length) - header.header_length);
    if (s == Status::kOk) {  // length <= max_frame_length_: it fits the buffer
      if (available.size < length) return Status::kCodecNeedMore;
      s = decode_body_(header, body, out);
      if (s == Status::kOk) {
        last_frame_length_ = length;
        return s;
      }
    } else {
      out->type = static_cast<PacketType>(header.first_byte >> 4);
      stream_header_ = 0;
      if (out->type == PacketType::kPublish) {
        // Read what the caller needs to acknowledge and report it: topic, QoS, id.
        const Status described = decode_body_from_server(header, body, out);
        if (described == Status::kCodecTruncated && available.size < capacity_) {
          return Status::kCodecNeedMore;  // the rest of the variable header is on its way
        }
        if (described == Status::kOk) {  // where the payload begins, for stream_frame()
          stream_header_ = static_cast<uint32_t>(out->publish.payload.data - available.data);
          stream_fixed_header_ = header.header_length;
        } else {
          out->publish.topic = {};  // unreadable: QoS and flags only
        }
      }
      refused_length_ = length;
    }
  }
  if (s != Status::kCodecNeedMore) error_ = s;  // errors are sticky
  return s;
}

MutableByteView StreamDecoder::free_space() {
  release_last_packet();
  if (start_ > 0) {  // move the partial frame to the front so the tail is as long as it can be
    std::memmove(buffer_, buffer_ + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  return MutableByteView(buffer_ + end_, capacity_ - end_);
}

void StreamDecoder::commit(size_t n) {
  end_ += static_cast<uint32_t>(n <= capacity_ - end_ ? n : capacity_ - end_);
}

StreamDecoder::FeedResult StreamDecoder::feed(ByteView input, Packet* out) {
  Status s = next(out);
  if (s != Status::kCodecNeedMore) return {s, 0};
  const MutableByteView space = free_space();
  const size_t n = input.size < space.size ? input.size : space.size;
  if (n) std::memcpy(space.data, input.data, n);
  commit(n);
  return {next(out), n};
}

// A frame was refused exactly while error_ is kCodecPacketTooLarge: next() sets refused_length_
// (at least 2) with that error, and skip_frame(), stream_frame() and reset() clear both.
Status StreamDecoder::skip_frame() {
  if (error_ != Status::kCodecPacketTooLarge) return Status::kInvalidArgument;
  skip_remaining_ = refused_length_;
  refused_length_ = stream_header_ = 0;
  error_ = Status::kOk;
  return Status::kOk;
}

Status StreamDecoder::stream_frame() {
  // Not streamable: nothing refused, headers unread, no room for payload beside them, or no
  // payload at all (a frame refused by a max_frame_length below the buffer's size).
  if (error_ != Status::kCodecPacketTooLarge || stream_header_ == 0 ||
      stream_header_ >= capacity_ || stream_header_ >= refused_length_) {
    return Status::kInvalidArgument;
  }
  stream_total_ = refused_length_ - stream_header_;
  refused_length_ = 0;
  error_ = Status::kOk;
  return Status::kOk;
}

Status StreamDecoder::next_part(PayloadPart* out) {
  release_last_packet();
  if (!streaming()) return Status::kInvalidArgument;
  const uint32_t payload_at = start_ + stream_header_;
  const uint32_t buffered = end_ - payload_at;
  const uint32_t left = stream_total_ - stream_offset_;
  const uint32_t n = buffered < left ? buffered : left;
  if (n == 0) return Status::kCodecNeedMore;
  // Read the headers again (they were valid when the frame was refused) for the topic and id.
  Publish& p = out->publish;
  wire::read_publish_flags(buffer_[start_], &p);
  wire::Reader r{buffer_ + start_ + stream_fixed_header_, buffer_ + payload_at};
  p.topic = r.binary().as_text();
  p.packet_id = p.qos != QoS::kAtMostOnce ? r.u16() : 0;
  p.payload = ByteView(buffer_ + payload_at, n);
  out->offset = stream_offset_;
  out->total = stream_total_;
  stream_offset_ += n;
  part_length_ = n;
  return Status::kOk;
}

void StreamDecoder::reset() {
  start_ = end_ = last_frame_length_ = refused_length_ = skip_remaining_ = 0;
  stream_header_ = stream_total_ = stream_offset_ = part_length_ = 0;
  error_ = Status::kOk;
}

}  // namespace onenet::codec
