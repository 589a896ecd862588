// Non-owning views of byte ranges (C++17 has no std::span). The viewed memory is owned by the
// caller and must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace onenet {

/// Read-only view of `size` bytes at `data`.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr ByteView() = default;
  constexpr ByteView(const uint8_t* d, size_t n) : data(d), size(n) {}
  ByteView(std::string_view text)  // NOLINT: text is bytes too
      : data(reinterpret_cast<const uint8_t*>(text.data())), size(text.size()) {}

  std::string_view as_text() const {
    return std::string_view(reinterpret_cast<const char*>(data), size);
  }
  bool empty() const { return size == 0; }
};

/// Writable view of `size` bytes at `data`.
struct MutableByteView {
  uint8_t* data = nullptr;
  size_t size = 0;

  constexpr MutableByteView() = default;
  constexpr MutableByteView(uint8_t* d, size_t n) : data(d), size(n) {}
};

}  // namespace onenet
