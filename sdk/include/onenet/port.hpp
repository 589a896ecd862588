// The port: what a target supplies to the SDK. sdk/ never includes a platform header; a
// platform implementation (platform/linux, platform/embedded, or a user's own) fills these in.
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

namespace onenet::port {

/// A byte-stream connection to one endpoint (TCP, TLS over TCP, a modem's socket...). The
/// endpoint is fixed when the transport is made; open() may be called again after close() to
/// reconnect. Used by one thread at a time.
class Transport {
 public:
  virtual ~Transport() = default;

  /// Connects (and for TLS, completes the handshake), blocking for at most `timeout_ms`.
  /// Returns kOk or a kTransport* / kTls* status saying why not.
  virtual Status open(uint32_t timeout_ms) = 0;

  /// Sends up to `size` bytes without blocking. Returns the count sent (> 0), 0 when nothing
  /// can be sent now (retry later), or < 0 when the connection is dead. After a 0 the client
  /// calls again starting with the same bytes, at least as many (TLS record layers rely on it:
  /// mbedTLS must be given the same data again after WANT_WRITE).
  virtual int32_t send(const uint8_t* data, size_t size) = 0;

  /// Receives up to `size` bytes without blocking. Returns the count (> 0), 0 when nothing is
  /// available now, or < 0 when the connection is dead (closed by the peer included).
  virtual int32_t recv(uint8_t* data, size_t size) = 0;

  /// Blocks until data can be received (or, with `for_write`, sent) or `timeout_ms` passes.
  /// Returns kOk (ready, or maybe ready: callers just try), kTransportTimeout, or an error.
  /// Must return at once while recv() has data, including bytes buffered inside a TLS layer:
  /// the client stops reading after a short read and waits here for more.
  virtual Status wait(uint32_t timeout_ms, bool for_write) = 0;

  /// Closes the connection; safe to call when not open.
  virtual void close() = 0;
};

/// A monotonic millisecond clock (never goes back; unrelated to wall time).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now_ms() = 0;
};

}  // namespace onenet::port
