// MD5 (RFC 1321) for OTA packages, written here so that sdk/provision needs no crypto library
// beside the port's HMAC: the mbedTLS and TLS-less builds have no OpenSSL. Internal to
// sdk/provision; provision::md5_hex is the public face.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace onenet::provision::detail {

/// Streaming: update() any number of times, then digest() once (32 lower-case hex digits).
class Md5 {
 public:
  void update(const uint8_t* data, size_t size);
  std::string digest();

 private:
  void compress(const uint8_t* block);

  uint32_t state_[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  uint8_t block_[64] = {};
  size_t used_ = 0;
  uint64_t length_ = 0;
};

}  // namespace onenet::provision::detail
