#include "onenet/codec/stream_decoder.hpp"

#include <cstdint>
#include <cstring>

#include "wire.hpp"

namespace onenet::codec {

StreamDecoder::StreamDecoder(MutableByteView buffer, size_t max_frame_length,
                             DecodeFunction decode_frame)
    : decode_frame_(decode_frame),
      buffer_(buffer.data),
      capacity_(static_cast<uint32_t>(buffer.size < UINT32_MAX ? buffer.size : UINT32_MAX)),
      max_frame_length_(
          static_cast<uint32_t>(max_frame_length < capacity_ ? max_frame_length : capacity_)) {}

void StreamDecoder::release_last_packet() {
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
  if (skip_remaining_ > 0) return Status::kCodecNeedMore;
  const ByteView available(buffer_ + start_, end_ - start_);
  FrameHeader header;
  Status s = decode_header(available, max_frame_length_, &header);
  if (s == Status::kCodecPacketTooLarge) {
    out->type = static_cast<PacketType>(header.first_byte >> 4);
    if (out->type == PacketType::kPublish) {
      // Read what the caller needs to acknowledge and report it: topic, QoS, id.
      wire::Reader r{available.data + header.header_length, available.data + available.size};
      const Status described = wire::decode_server_packet(header, r, out);
      if (described == Status::kCodecTruncated && available.size < capacity_) {
        return Status::kCodecNeedMore;  // the rest of the variable header is on its way
      }
      if (described != Status::kOk) out->publish.topic = {};  // unreadable: QoS and flags only
    }
    refused_length_ = static_cast<uint32_t>(header.frame_length());
  }
  if (s == Status::kOk) {
    const uint32_t length = static_cast<uint32_t>(header.frame_length());  // <= max_frame_length_
    if (available.size < length) return Status::kCodecNeedMore;
    s = decode_frame_(ByteView(available.data, length), out);
    if (s == Status::kOk) {
      last_frame_length_ = length;
      return s;
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

Status StreamDecoder::skip_frame() {
  if (error_ != Status::kCodecPacketTooLarge || refused_length_ == 0) {
    return Status::kInvalidArgument;
  }
  skip_remaining_ = refused_length_;
  refused_length_ = 0;
  error_ = Status::kOk;
  return Status::kOk;
}

void StreamDecoder::reset() {
  start_ = end_ = last_frame_length_ = refused_length_ = skip_remaining_ = 0;
  error_ = Status::kOk;
}

}  // namespace onenet::codec
