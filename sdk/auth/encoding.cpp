#include "onenet/auth/encoding.hpp"

namespace onenet::auth {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kHexUpper[] = "0123456789ABCDEF";

// Value of a Base64 character, or -1 when it is not in the RFC 4648 alphabet.
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

Result<size_t> base64_encode(ByteView bytes, char* out, size_t out_size) {
  const size_t needed = base64_encoded_length(bytes.size);
  if (out_size < needed) return Status::kBufferTooSmall;
  size_t w = 0;
  for (size_t i = 0; i < bytes.size; i += 3) {
    const size_t left = bytes.size - i;
    const uint32_t triple = (uint32_t{bytes.data[i]} << 16) |
                            (left > 1 ? uint32_t{bytes.data[i + 1]} << 8 : 0) |
                            (left > 2 ? uint32_t{bytes.data[i + 2]} : 0);
    out[w++] = kBase64Alphabet[(triple >> 18) & 0x3F];
    out[w++] = kBase64Alphabet[(triple >> 12) & 0x3F];
    out[w++] = left > 1 ? kBase64Alphabet[(triple >> 6) & 0x3F] : '=';
    out[w++] = left > 2 ? kBase64Alphabet[triple & 0x3F] : '=';
  }
  return w;
}

Result<size_t> base64_decode(std::string_view text, uint8_t* out, size_t out_size) {
  if (text.empty()) return Status::kAuthEmptyKey;
  if (text.size() % 4 != 0) return Status::kAuthMalformedKey;
  size_t padding = 0;
  if (text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  const size_t decoded = text.size() / 4 * 3 - padding;
  if (out_size < decoded) return Status::kBufferTooSmall;

  size_t w = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last_quad = i + 4 == text.size();
    uint32_t quad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int v = base64_value(c);
      // '=' is legal only as the final one or two characters of the text.
      if (v < 0) {
        if (c != '=' || !last_quad || j < 4 - padding) return Status::kAuthMalformedKey;
        v = 0;
      }
      quad = (quad << 6) | static_cast<uint32_t>(v);
    }
    out[w++] = static_cast<uint8_t>(quad >> 16);
    if (w < decoded) out[w++] = static_cast<uint8_t>(quad >> 8);
    if (w < decoded) out[w++] = static_cast<uint8_t>(quad);
  }
  return w;
}

size_t url_encoded_length(std::string_view text) {
  size_t n = 0;
  for (const char c : text) n += is_unreserved(static_cast<unsigned char>(c)) ? 1 : 3;
  return n;
}

Result<size_t> url_encode(std::string_view text, char* out, size_t out_size) {
  if (out_size < url_encoded_length(text)) return Status::kBufferTooSmall;
  size_t w = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte)) {
      out[w++] = c;
    } else {
      out[w++] = '%';
      out[w++] = kHexUpper[byte >> 4];
      out[w++] = kHexUpper[byte & 0x0F];
    }
  }
  return w;
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

}  // namespace onenet::auth
