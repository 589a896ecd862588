// Our HMAC port over mbedTLS (Debian's libmbedtls-dev, found by third_party/): the embedded
// counterpart of openssl_hmac.cpp. Only mbedTLS's public md API is called; nothing is copied.
#include <mbedtls/md.h>

#include "onenet/platform/hmac.hpp"

namespace onenet::platform {

Status mbedtls_hmac(port::HmacAlgorithm algorithm, ByteView key, ByteView message,
                    uint8_t* digest) {
  const mbedtls_md_type_t type = algorithm == port::HmacAlgorithm::kMd5    ? MBEDTLS_MD_MD5
                                 : algorithm == port::HmacAlgorithm::kSha1 ? MBEDTLS_MD_SHA1
                                                                           : MBEDTLS_MD_SHA256;
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(type);
  if (info == nullptr) return Status::kAuthHmacFailed;
  if (mbedtls_md_hmac(info, key.data, key.size, message.data, message.size, digest) != 0) {
    return Status::kAuthHmacFailed;
  }
  return Status::kOk;
}

}  // namespace onenet::platform
