// MD5 (RFC 1321), streaming and heap-free: what fuse-ota gives as a package's checksum
// (onenet-protocol.md section 5.5). Written here so that no crypto library is needed beside the
// port's HMAC (the mbedTLS and TLS-less builds have no OpenSSL).
#pragma once

#include <cstddef>
#include <cstdint>

namespace onenet::ota {

/// A running MD5. A plain value (96 bytes, no pointers): copy it to keep a checkpoint, or save
/// it beside the byte count of a download to resume it after a restart on the same build.
class Md5 {
 public:
  /// Adds `size` bytes at `data` (null is allowed when `size` is 0).
  void update(const uint8_t* data, size_t size);
  /// Writes the digest of everything added so far as 32 lower-case hex digits and a NUL into
  /// `hex` (33 bytes). The running state is not changed: more bytes may still be added.
  void hex_digest(char* hex) const;

 private:
  void compress(const uint8_t* block);

  uint32_t state_[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  uint8_t block_[64] = {};
  uint32_t used_ = 0;
  uint64_t length_ = 0;
};

}  // namespace onenet::ota
