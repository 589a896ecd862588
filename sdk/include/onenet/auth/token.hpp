// OneNET access tokens (onenet-protocol.md section 1): sign, parse, verify, renew.
//
//   version=<v>&res=<url-encoded res>&et=<unix s>&method=<m>&sign=<url-encoded base64 hmac>
//
// The HMAC key is the Base64-decoded access key; the signed text is "et\nmethod\nres\nversion"
// with the un-encoded res. Everything here writes into caller buffers: no heap, no exceptions.
// Tokens are credentials: the SDK never logs them, and callers should not either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/port.hpp"
#include "onenet/status.hpp"

namespace onenet::auth {

/// The signature algorithm named in the token's `method` field.
enum class Method : uint8_t { kMd5, kSha1, kSha256 };

/// "md5", "sha1" or "sha256" (the lower-case form OneNET documents).
std::string_view method_name(Method method);

/// Parses a method name, ignoring ASCII case. kAuthUnknownMethod for anything else.
Result<Method> parse_method(std::string_view name);

/// Token versions seen in OneNET's documentation (section 1.2).
inline constexpr std::string_view kVersion2018 = "2018-10-31";  ///< devices, products
inline constexpr std::string_view kVersion2020 = "2020-05-29";  ///< Studio open API
inline constexpr std::string_view kVersion2022 = "2022-05-01";  ///< user-level iot-api

inline constexpr size_t kMaxResourceLength = 256;  ///< bytes of un-encoded res
inline constexpr size_t kMaxVersionLength = 32;
inline constexpr size_t kMaxKeyBytes = 128;  ///< decoded access key

/// Upper bound of a token's length for a res and version of the given lengths, for sizing a
/// static buffer (add 1 for the terminator sign_token writes).
constexpr size_t max_token_length(size_t resource_length, size_t version_length) {
  // "version=" "&res=" "&et=" "&method=" "&sign=" = 8+5+4+8+6 = 31 separator bytes; et has at
  // most 20 digits; "sha256" is the longest method; every res and sign byte may become %XX.
  return 31 + version_length + 3 * resource_length + 20 + 6 + 3 * 44;
}

/// What to sign. All views are borrowed for the duration of the call only.
struct TokenRequest {
  /// Un-encoded resource path `class/id[/class/id...]`, e.g. "products/P/devices/D",
  /// "products/P" or "userid/123". At most kMaxResourceLength bytes.
  std::string_view resource;
  /// The access key as the console shows it (Base64). Decoded strictly.
  std::string_view access_key;
  /// Expiry, Unix time in seconds. OneNET rejects a token whose et is in the past.
  uint64_t expires_at = 0;
  Method method = Method::kSha256;
  std::string_view version = kVersion2018;
};

/// Checks the request without signing: resource shape, version charset, key decoding.
/// Returns kOk or the first problem (kAuthResourceInvalid, kAuthVersionInvalid, kAuthEmptyKey,
/// kAuthMalformedKey, kAuthKeyTooLong).
Status check_request(const TokenRequest& request);

/// Exact length of the token `sign_token` would write (terminator excluded), or the status
/// `sign_token` would fail with. Computes the HMAC.
Result<size_t> token_length(const TokenRequest& request, port::HmacFunction hmac);

/// Signs `request` and writes the token plus a terminating NUL into `out`. Returns the token
/// length (without the NUL), kBufferTooSmall if `out_size` < token_length() + 1 (nothing
/// useful is left in `out` then), or any status of check_request / the HMAC port.
Result<size_t> sign_token(const TokenRequest& request, port::HmacFunction hmac, char* out,
                          size_t out_size);

/// A token split into its fields. `version` and `method_text` view the parsed token string and
/// live as long as it does; `resource` and `signature` are decoded copies.
struct ParsedToken {
  std::string_view version;
  std::string_view method_text;  ///< as written in the token (its case is what was signed)
  Method method = Method::kSha256;
  uint64_t expires_at = 0;
  char resource[kMaxResourceLength + 1] = {};
  size_t resource_length = 0;
  uint8_t signature[32] = {};
  size_t signature_length = 0;

  std::string_view resource_view() const { return std::string_view(resource, resource_length); }
};

/// Splits `token` into `out`. Fields must be exactly version, res, et, method, sign in that
/// order. Statuses: kAuthTokenFieldMissing (a field absent), kAuthTokenFieldOrder (all present,
/// wrong order), kAuthTokenMalformed (unknown or repeated field, empty value, a sign longer than
/// any HMAC's Base64), kAuthTokenBadEncoding (bad %XX or Base64), kAuthTokenBadSignLength (a
/// sign that is not its method's HMAC length), kAuthTokenBadExpiry (et not a number),
/// kAuthUnknownMethod, kAuthResourceInvalid, kAuthVersionInvalid.
Status parse_token(std::string_view token, ParsedToken* out);

/// Parses `token`, checks its signature against `access_key`, then its expiry against
/// `now_unix` (seconds). Returns kOk, any parse_token status, kAuthTokenBadSignature,
/// kAuthTokenExpired, or a key status. `out` (optional) receives the parsed fields.
Status verify_token(std::string_view token, std::string_view access_key, uint64_t now_unix,
                    port::HmacFunction hmac, ParsedToken* out = nullptr);

/// True when a token expiring at `expires_at` must be renewed now: it expires within
/// `margin_seconds` of `now_unix` (or already has).
constexpr bool expires_within(uint64_t expires_at, uint64_t now_unix, uint64_t margin_seconds) {
  return expires_at <= now_unix || expires_at - now_unix <= margin_seconds;
}

/// Writes "products/{product_id}/devices/{device_name}" plus NUL into `out`; returns its
/// length or kBufferTooSmall / kAuthResourceInvalid (an empty or '/'-containing part).
Result<size_t> device_resource(std::string_view product_id, std::string_view device_name, char* out,
                               size_t out_size);

}  // namespace onenet::auth
