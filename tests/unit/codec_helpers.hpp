// Shared helpers for the codec tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "onenet/codec/packets.hpp"

namespace codec_test {

using Bytes = std::vector<uint8_t>;

template <typename P>
Bytes encode_bytes(const P& packet) {
  const auto size = onenet::codec::encoded_size(packet);
  REQUIRE_MESSAGE(size.ok(), onenet::to_string(size.status()));
  Bytes out(size.value());
  const auto written =
      onenet::codec::encode(packet, onenet::MutableByteView(out.data(), out.size()));
  REQUIRE(written.ok());
  REQUIRE(written.value() == out.size());
  return out;
}

inline onenet::Status decode_status(const Bytes& frame) {
  onenet::codec::Packet packet;
  return onenet::codec::decode(onenet::ByteView(frame.data(), frame.size()), &packet);
}

inline onenet::codec::Packet decode_ok(const Bytes& frame) {
  onenet::codec::Packet packet;
  const auto s = onenet::codec::decode(onenet::ByteView(frame.data(), frame.size()), &packet);
  REQUIRE_MESSAGE(s == onenet::Status::kOk, onenet::to_string(s));
  return packet;
}

inline std::string text(onenet::ByteView view) {
  return std::string(view.as_text());
}

}  // namespace codec_test
