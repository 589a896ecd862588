// Token parser fuzzer. Oracles: no crash; a token that parses re-signs (with a fixed key) to a
// token that verifies with that key and parses to the same fields. The encodings under it:
// Base64 and percent-encoding of the input round-trip, and Base64 text that decodes encodes to
// text that decodes to the same bytes.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "onenet/auth/encoding.hpp"
#include "onenet/auth/token.hpp"
#include "onenet/platform/hmac.hpp"

using namespace onenet;

namespace {

void check_encodings(const uint8_t* data, size_t size) {
  if (size > 1024) return;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  char encoded[3 * 1024];
  uint8_t decoded[1024];
  const Result<size_t> b64 = auth::base64_encode(ByteView(data, size), encoded, sizeof encoded);
  if (!b64 || b64.value() != auth::base64_encoded_length(size)) std::abort();
  const Result<size_t> back =
      auth::base64_decode(std::string_view(encoded, b64.value()), decoded, sizeof decoded);
  if (size > 0 && (!back || back.value() != size || std::memcmp(decoded, data, size) != 0)) {
    std::abort();
  }

  const Result<size_t> url = auth::url_encode(text, encoded, sizeof encoded);
  if (!url || url.value() != auth::url_encoded_length(text)) std::abort();
  char plain[1024];
  const Result<size_t> unescaped =
      auth::url_decode(std::string_view(encoded, url.value()), plain, sizeof plain);
  if (!unescaped || unescaped.value() != size || std::memcmp(plain, data, size) != 0) std::abort();

  // The input as Base64 text: whatever decodes must survive encode and decode again (pad bits
  // that are not zero are allowed, so the text itself need not come back).
  const Result<size_t> key = auth::base64_decode(text, decoded, sizeof decoded);
  if (!key) return;
  const Result<size_t> again =
      auth::base64_encode(ByteView(decoded, key.value()), encoded, sizeof encoded);
  uint8_t twice[1024];
  const Result<size_t> twice_n =
      auth::base64_decode(std::string_view(encoded, again.value_or(0)), twice, sizeof twice);
  if (!again || (key.value() > 0 && (!twice_n || twice_n.value() != key.value() ||
                                     std::memcmp(twice, decoded, key.value()) != 0))) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_encodings(data, size);
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auth::ParsedToken parsed;
  if (auth::parse_token(token, &parsed) != Status::kOk) return 0;
  (void)auth::verify_token(token, "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", 0,
                           platform::default_hmac());

  auth::TokenRequest request;
  request.resource = parsed.resource_view();
  request.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  request.expires_at = parsed.expires_at;
  request.method = parsed.method;
  request.version = parsed.version;
  char out[1024];
  const Result<size_t> n = auth::sign_token(request, platform::default_hmac(), out, sizeof out);
  if (!n) std::abort();
  auth::ParsedToken again;
  if (auth::verify_token(std::string_view(out, n.value()), request.access_key, 0,
                         platform::default_hmac(), &again) != Status::kOk) {
    std::abort();
  }
  if (again.resource_view() != parsed.resource_view() || again.expires_at != parsed.expires_at) {
    std::abort();
  }
  return 0;
}
