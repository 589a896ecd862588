// Base64 and URL percent-encoding exactly as OneNET tokens need them (onenet-protocol.md 1.4-1.5).
// Pure functions over caller buffers: no heap, no exceptions, no globals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/bytes.hpp"
#include "onenet/status.hpp"

namespace onenet::auth {

/// Length of the standard (RFC 4648, padded) Base64 text for `byte_count` bytes.
constexpr size_t base64_encoded_length(size_t byte_count) {
  return (byte_count + 2) / 3 * 4;
}

/// Upper bound of the bytes `text_length` Base64 characters decode to.
constexpr size_t base64_decoded_max_length(size_t text_length) {
  return text_length / 4 * 3;
}

/// Writes the padded Base64 of `bytes` to `out` (no terminator). Returns the length written, or
/// kBufferTooSmall when `out_size` < base64_encoded_length(bytes.size).
Result<size_t> base64_encode(ByteView bytes, char* out, size_t out_size);

/// Strict decode: the RFC 4648 alphabet only, length a multiple of 4, '=' only as the last one
/// or two characters. Returns the decoded length, kAuthEmptyKey for empty text,
/// kAuthMalformedKey for anything not strictly Base64, kBufferTooSmall if `out` is too short.
Result<size_t> base64_decode(std::string_view text, uint8_t* out, size_t out_size);

/// Length of `text` after url_encode.
size_t url_encoded_length(std::string_view text);

/// Percent-encodes every byte that is not RFC 3986 unreserved (A-Z a-z 0-9 - . _ ~) with
/// uppercase hex. This covers OneNET's list (+ space / ? % # & =) byte-for-byte, as the
/// official SDK emits it. Returns the length written (no terminator) or kBufferTooSmall.
Result<size_t> url_encode(std::string_view text, char* out, size_t out_size);

/// Decodes %XX escapes (either hex case); '+' stays '+'. Returns the length written,
/// kAuthTokenBadEncoding for a truncated or non-hex escape, or kBufferTooSmall.
Result<size_t> url_decode(std::string_view text, char* out, size_t out_size);

}  // namespace onenet::auth
