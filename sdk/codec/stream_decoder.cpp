#include "onenet/codec/stream_decoder.hpp"

#include <cstdint>
#include <cstring>

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
  if (start_ == end_) start_ = end_ = 0;
}

Status StreamDecoder::next(Packet* out) {
  release_last_packet();
  if (error_ != Status::kOk) return error_;
  const ByteView available(buffer_ + start_, end_ - start_);
  FrameHeader header;
  Status s = decode_header(available, max_frame_length_, &header);
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

void StreamDecoder::reset() {
  start_ = end_ = last_frame_length_ = 0;
  error_ = Status::kOk;
}

}  // namespace onenet::codec
