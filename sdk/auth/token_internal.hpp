// Private to sdk/auth: helpers shared by signing (token.cpp) and verifying (token_verify.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/auth/token.hpp"
#include "text_writer.hpp"

namespace onenet::auth::detail {

struct DecodedKey {
  uint8_t bytes[kMaxKeyBytes];
  size_t size = 0;
};

struct Signature {
  char base64[44];  // Base64 of a SHA-256 digest is the longest: 44 characters
  size_t size = 0;
};

port::HmacAlgorithm algorithm_of(Method method);
Status check_resource(std::string_view res);
Status check_version(std::string_view version);
Status decode_key(std::string_view access_key, DecodedKey* key);

/// HMAC over "et\nmethod\nres\nversion" (section 1.3), Base64-encoded into `out`.
Status compute_signature(const DecodedKey& key, uint64_t et, std::string_view method_text,
                         Method method, std::string_view res, std::string_view version,
                         port::HmacFunction hmac, Signature* out);

}  // namespace onenet::auth::detail
