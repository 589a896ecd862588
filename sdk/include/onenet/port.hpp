// The port: what a target supplies to the SDK. sdk/ never includes a platform header; a
// platform implementation (platform/linux, platform/mbedtls, or a user's own) fills these in.
//
// Contract for every function here: no heap required, no exceptions, safe to call from the
// thread that owns the SDK object it was given to.
#pragma once

#include <cstddef>
#include <cstdint>

#include "onenet/bytes.hpp"
#include "onenet/status.hpp"

namespace onenet::port {

/// Digest algorithms OneNET tokens use (onenet-protocol.md section 1.4).
enum class HmacAlgorithm : uint8_t { kMd5, kSha1, kSha256 };

/// Digest length in bytes: 16, 20 or 32.
constexpr size_t hmac_length(HmacAlgorithm algorithm) {
  return algorithm == HmacAlgorithm::kMd5 ? 16 : algorithm == HmacAlgorithm::kSha1 ? 20 : 32;
}

/// Computes HMAC(`key`, `message`) with `algorithm` into `digest`, which holds at least
/// `hmac_length(algorithm)` bytes. Returns kOk, or kAuthHmacFailed if the backend failed.
/// Blocking, pure computation.
using HmacFunction = Status (*)(HmacAlgorithm algorithm, ByteView key, ByteView message,
                                uint8_t* digest);

/// Fills `out` with unpredictable bytes (used for backoff jitter). Returns kOk or
/// kPlatformRandomFailed.
using RandomFunction = Status (*)(MutableByteView out);

}  // namespace onenet::port
