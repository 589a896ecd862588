// Where a test's device writes an OTA package (an ota::PackageSink): the pieces as they come,
// whether they came in order, and a power cut after `cut_after` bytes (the sink then refuses
// with kTransportIoError, as a firmware's flash writer would fail).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "onenet/bytes.hpp"
#include "onenet/status.hpp"

namespace itest {

struct FlashSlot {
  std::string bytes;
  size_t cut_after = SIZE_MAX;
  bool in_order = true;

  static onenet::Status write(void* context, uint32_t offset, onenet::ByteView piece) {
    auto& slot = *static_cast<FlashSlot*>(context);
    if (offset != slot.bytes.size()) slot.in_order = false;
    if (slot.bytes.size() >= slot.cut_after) return onenet::Status::kTransportIoError;
    slot.bytes.append(piece.as_text());
    return onenet::Status::kOk;
  }
};

}  // namespace itest
