// A port that does nothing, for images built to be measured or linked, never run on a board:
// bench/size/device.cpp (scripts/size.sh) and tests/package/firmware. Its bytes are the port's,
// not the SDK's, so size.sh does not count them.
#pragma once

#include "onenet/port.hpp"

namespace onenet_size {

class NullTransport : public onenet::port::Transport {
 public:
  onenet::Status open(uint32_t) override { return onenet::Status::kOk; }
  int32_t send(const uint8_t*, size_t size) override { return static_cast<int32_t>(size); }
  int32_t recv(uint8_t*, size_t) override { return 0; }
  onenet::Status wait(uint32_t, bool) override { return onenet::Status::kOk; }
  void close() override {}
};

class TickClock : public onenet::port::Clock {
 public:
  uint64_t now_ms() override { return ++ticks; }
  volatile uint64_t ticks = 0;
};

inline onenet::Status null_hmac(onenet::port::HmacAlgorithm, onenet::ByteView, onenet::ByteView,
                                uint8_t* out) {
  out[0] = 0;
  return onenet::Status::kOk;
}
inline onenet::Status null_random(onenet::MutableByteView out) {
  if (out.size) out.data[0] = 4;
  return onenet::Status::kOk;
}

}  // namespace onenet_size
