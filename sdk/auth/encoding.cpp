#include "onenet/auth/encoding.hpp"

#include "text_writer.hpp"

namespace onenet::auth {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a Base64 character, or -1 when it is not in the RFC 4648 alphabet. A search of the
// alphabet rather than ranges: keys are 44 characters, and the table is linked anyway.
int base64_value(char c) {
  for (int v = 0; v < 64; ++v) {
    if (kBase64Alphabet[v] == c) return v;
  }
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Result<size_t> base64_encode(ByteView bytes, char* out, size_t out_size) {
  const size_t needed = base64_encoded_length(bytes.size);
  if (out_size < needed) return Status::kBufferTooSmall;
  // Six bits out per character: `bits` counts those buffered in `pending`.
  uint32_t pending = 0;
  int bits = 0;
  size_t w = 0;
  for (size_t i = 0; i < bytes.size; ++i) {
    pending = pending << 8 | bytes.data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[w++] = kBase64Alphabet[(pending >> bits) & 0x3F];
    }
  }
  if (bits > 0) out[w++] = kBase64Alphabet[(pending << (6 - bits)) & 0x3F];
  while (w < needed) out[w++] = '=';
  return w;
}

Result<size_t> base64_decode(std::string_view text, uint8_t* out, size_t out_size) {
  const size_t size = text.size();
  if (size == 0) return Status::kAuthEmptyKey;
  if (size % 4 != 0) return Status::kAuthMalformedKey;
  // '=' is legal only as the final one or two characters; anywhere else base64_value refuses it.
  size_t padding = text[size - 1] == '=' ? 1 : 0;
  if (padding == 1 && text[size - 2] == '=') padding = 2;
  const size_t decoded = size / 4 * 3 - padding;
  if (out_size < decoded) return Status::kBufferTooSmall;

  // Each character adds six bits; the second, third and fourth of a quad complete a byte.
  uint32_t pending = 0;
  size_t w = 0;
  for (size_t i = 0; i < size - padding; ++i) {
    const int v = base64_value(text[i]);
    if (v < 0) return Status::kAuthMalformedKey;
    pending = pending << 6 | static_cast<uint32_t>(v);
    const size_t position = i % 4;
    if (position != 0) out[w++] = static_cast<uint8_t>(pending >> (6 - 2 * position));
  }
  return w;
}

size_t url_encoded_length(std::string_view text) {
  detail::TextWriter counter{nullptr, 0};
  counter.url_encoded(text);
  return counter.length;
}

Result<size_t> url_encode(std::string_view text, char* out, size_t out_size) {
  if (out_size < url_encoded_length(text)) return Status::kBufferTooSmall;
  detail::TextWriter writer{out, out_size};
  writer.url_encoded(text);
  return writer.length;
}

Result<size_t> url_decode(std::string_view text, char* out, size_t out_size) {
  size_t w = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (w == out_size) return Status::kBufferTooSmall;
    if (text[i] != '%') {
      out[w++] = text[i];
      continue;
    }
    if (text.size() - i < 3) return Status::kAuthTokenBadEncoding;  // truncated escape
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return Status::kAuthTokenBadEncoding;
    out[w++] = static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return w;
}

namespace detail {

// Writes decimal `value`. `value % 10` and `/ 10` on a uint64_t would make a 32-bit MCU link
// libgcc's 64-bit division (__aeabi_uldivmod, about 700 B of flash) for this one loop, so the
// division is done by hand on four 16-bit limbs, each step fitting 32-bit arithmetic.
void TextWriter::decimal(uint64_t value) {
  uint16_t limbs[4];  // most significant first
  for (int i = 0; i < 4; ++i) limbs[i] = static_cast<uint16_t>(value >> (48 - 16 * i));
  char reversed[20];
  size_t n = 0;
  bool more = false;
  do {
    uint32_t remainder = 0;
    more = false;
    for (uint16_t& limb : limbs) {
      const uint32_t current = remainder << 16 | limb;
      limb = static_cast<uint16_t>(current / 10);
      remainder = current % 10;
      more |= limb != 0;
    }
    reversed[n++] = static_cast<char>('0' + remainder);
  } while (more);
  while (n > 0) put(reversed[--n]);
}

void TextWriter::put(std::string_view text) {
  for (const char c : text) put(c);
}

void TextWriter::url_encoded(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      put(c);
    } else {
      put('%');
      put(kHexUpper[byte >> 4]);
      put(kHexUpper[byte & 0x0F]);
    }
  }
}

}  // namespace detail

}  // namespace onenet::auth
