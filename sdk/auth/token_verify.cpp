// Token parsing and verification: the server side (onenet-local) and debugging. A device
// that only signs never links this file.
#include <cstring>

#include "onenet/auth/encoding.hpp"
#include "onenet/auth/token.hpp"
#include "token_internal.hpp"

namespace onenet::auth {

using namespace detail;

Status parse_token(std::string_view token, ParsedToken* out) {
  static constexpr std::string_view kFields[] = {"version", "res", "et", "method", "sign"};
  std::string_view values[5];
  bool seen[5] = {};
  bool in_order = true;
  size_t next_expected = 0;

  while (!token.empty()) {
    // Views cut by hand over lengths already checked: substr() would throw std::out_of_range,
    // whose code an MCU image (-fno-exceptions) would then carry from libstdc++.
    const size_t amp = token.find('&');
    const size_t pair_length = amp == std::string_view::npos ? token.size() : amp;
    const std::string_view pair(token.data(), pair_length);
    token.remove_prefix(amp == std::string_view::npos ? token.size() : amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq + 1 == pair.size()) return Status::kAuthTokenMalformed;
    const std::string_view key(pair.data(), eq);
    size_t index = 0;
    while (index < 5 && kFields[index] != key) ++index;
    if (index == 5 || seen[index]) return Status::kAuthTokenMalformed;
    seen[index] = true;
    values[index] = std::string_view(pair.data() + eq + 1, pair.size() - eq - 1);
    if (index != next_expected) in_order = false;
    ++next_expected;
  }
  for (const bool present : seen) {
    if (!present) return Status::kAuthTokenFieldMissing;
  }
  if (!in_order) return Status::kAuthTokenFieldOrder;

  ParsedToken parsed;
  parsed.version = values[0];
  Status s = check_version(parsed.version);
  if (s != Status::kOk) return s;

  const Result<size_t> res_length = url_decode(values[1], parsed.resource, kMaxResourceLength);
  if (!res_length) {
    return res_length.status() == Status::kBufferTooSmall ? Status::kAuthResourceInvalid
                                                          : res_length.status();
  }
  parsed.resource_length = res_length.value();
  s = check_resource(parsed.resource_view());
  if (s != Status::kOk) return s;

  if (values[2].size() > 20) return Status::kAuthTokenBadExpiry;
  uint64_t et = 0;
  for (const char c : values[2]) {
    if (c < '0' || c > '9') return Status::kAuthTokenBadExpiry;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (et > (UINT64_MAX - digit) / 10) return Status::kAuthTokenBadExpiry;
    et = et * 10 + digit;
  }
  parsed.expires_at = et;

  const Result<Method> method = parse_method(values[3]);
  if (!method) return method.status();
  parsed.method = method.value();
  parsed.method_text = values[3];

  char sign_text[3 * 44];
  const Result<size_t> sign_length = url_decode(values[4], sign_text, sizeof sign_text);
  if (!sign_length) {
    return sign_length.status() == Status::kBufferTooSmall ? Status::kAuthTokenMalformed
                                                           : sign_length.status();
  }
  const Result<size_t> signature_length = base64_decode(
      std::string_view(sign_text, sign_length.value()), parsed.signature, sizeof parsed.signature);
  if (!signature_length) return Status::kAuthTokenBadEncoding;
  parsed.signature_length = signature_length.value();
  if (parsed.signature_length != port::hmac_length(algorithm_of(parsed.method))) {
    return Status::kAuthTokenBadSignLength;
  }
  *out = parsed;
  return Status::kOk;
}

Status verify_token(std::string_view token, std::string_view access_key, uint64_t now_unix,
                    port::HmacFunction hmac, ParsedToken* out) {
  ParsedToken parsed;
  Status s = parse_token(token, &parsed);
  if (s != Status::kOk) return s;
  DecodedKey key;
  s = decode_key(access_key, &key);
  if (s != Status::kOk) return s;

  Signature expected;
  s = compute_signature(key, parsed.expires_at, parsed.method_text, parsed.method,
                        parsed.resource_view(), parsed.version, hmac, &expected);
  if (s != Status::kOk) return s;
  uint8_t expected_raw[32];
  const Result<size_t> n = base64_decode(std::string_view(expected.base64, expected.size),
                                         expected_raw, sizeof expected_raw);
  if (!n) return Status::kInternalError;
  // Constant-time comparison: a verifier must not leak how many signature bytes matched.
  uint8_t difference = n.value() == parsed.signature_length ? 0 : 1;
  for (size_t i = 0; i < n.value() && i < parsed.signature_length; ++i) {
    difference |= static_cast<uint8_t>(expected_raw[i] ^ parsed.signature[i]);
  }
  if (out != nullptr) *out = parsed;
  if (difference != 0) return Status::kAuthTokenBadSignature;
  if (parsed.expires_at < now_unix) return Status::kAuthTokenExpired;
  return Status::kOk;
}

}  // namespace onenet::auth
