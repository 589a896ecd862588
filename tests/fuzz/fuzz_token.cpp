// Token parser fuzzer. Oracles: no crash; a token that parses re-signs (with a fixed key) to a
// token that verifies with that key and parses to the same fields.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "onenet/auth/token.hpp"
#include "onenet/platform/hmac.hpp"

using namespace onenet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
