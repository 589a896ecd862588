// Private to sdk/auth: the bounded text writer behind tokens and percent-encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace onenet::auth::detail {

/// Writes text into a bounded buffer, or only counts it when `out` is null (token_length,
/// url_encoded_length). Past `capacity` it keeps counting but stops writing, so one pass both
/// sizes and fills.
struct TextWriter {
  char* out;
  size_t capacity;
  size_t length = 0;

  void put(char c) {
    if (out != nullptr && length < capacity) out[length] = c;
    ++length;
  }
  void put(std::string_view text);
  /// Percent-encoding exactly as url_encode documents it (encoding.hpp).
  void url_encoded(std::string_view text);
  /// Decimal digits, without 64-bit division (see encoding.cpp).
  void decimal(uint64_t value);
  bool overflowed() const { return length > capacity; }
};

}  // namespace onenet::auth::detail
