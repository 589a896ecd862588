#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "onenet/platform/hmac.hpp"

namespace onenet::platform {

Status openssl_hmac(port::HmacAlgorithm algorithm, ByteView key, ByteView message,
                    uint8_t* digest) {
  const EVP_MD* md = algorithm == port::HmacAlgorithm::kMd5    ? EVP_md5()
                     : algorithm == port::HmacAlgorithm::kSha1 ? EVP_sha1()
                                                               : EVP_sha256();
  unsigned int length = 0;
  // HMAC() with a NULL key pointer would mean "reuse"; an empty key must still be a valid pointer.
  static const uint8_t kNoKey = 0;
  if (HMAC(md, key.size ? key.data : &kNoKey, static_cast<int>(key.size), message.data,
           message.size, digest, &length) == nullptr ||
      length != port::hmac_length(algorithm)) {
    return Status::kAuthHmacFailed;
  }
  return Status::kOk;
}

}  // namespace onenet::platform
