// TLS over any port::Transport with mbedTLS: the embedded path (an MCU's TCP stack, a modem's
// sockets, or TcpTransport on a host). Needs mbedTLS 2.28 (Debian's libmbedtls-dev); built
// when it is found (ONENET_HAVE_MBEDTLS_TLS).
//
// Ownership: the inner transport is borrowed and must outlive this one; the CA text is copied
// (parsed) at construction. Memory: the mbedTLS contexts live inside this object; mbedTLS
// allocates its record buffers (MBEDTLS_SSL_IN/OUT_CONTENT_LEN, 16 KB each by default) from its
// own allocator during open(). Blocking: open() for at most its timeout; send/recv never block.
// One thread at a time.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <cstddef>
#include <cstdint>

#include "onenet/port.hpp"

namespace onenet::platform {

struct MbedTlsOptions {
  /// Trust anchors: PEM text (NUL-terminated, one or more certificates). Required: the server
  /// is always verified (chain and name); there is no insecure mode on this path.
  const char* ca_pem = nullptr;
  /// Name for SNI and certificate verification (a host name or an IP address). Required.
  const char* server_name = nullptr;
  /// Entropy for mbedTLS's DRBG: the target's true random source (on Linux, system_random).
  port::RandomFunction random = nullptr;
  /// Bounds the handshake (borrowed; must outlive the transport).
  port::Clock* clock = nullptr;
};

class MbedTlsTransport : public port::Transport {
 public:
  /// `inner` is the byte stream underneath (borrowed). Bad options surface at open():
  /// kTlsCaLoadFailed (no or unparsable CA), kInvalidArgument (no server name, random or clock),
  /// kTlsSetupFailed (mbedTLS refused its configuration).
  MbedTlsTransport(port::Transport& inner, const MbedTlsOptions& options);
  ~MbedTlsTransport() override;
  MbedTlsTransport(const MbedTlsTransport&) = delete;
  MbedTlsTransport& operator=(const MbedTlsTransport&) = delete;

  /// Opens the inner transport, then completes the TLS handshake, both within `timeout_ms`.
  /// Returns kOk, an inner status, kTransportTimeout, kTlsVerifyFailed (chain or name),
  /// kTlsHandshakeFailed, kTlsCaLoadFailed or kInvalidArgument. The handshake gives up with
  /// kTransportCancelled as soon as the inner transport's wait() returns that (a port's way to
  /// abandon a connection attempt, as the Linux Runner's stop() does).
  Status open(uint32_t timeout_ms) override;
  int32_t send(const uint8_t* data, size_t size) override;
  int32_t recv(uint8_t* data, size_t size) override;
  /// Returns at once while decrypted bytes wait inside mbedTLS; otherwise the inner wait.
  Status wait(uint32_t timeout_ms, bool for_write) override;
  /// Sends close_notify (best effort) and closes the inner transport.
  void close() override;
  /// Decrypted bytes wait inside mbedTLS, where waiting on the inner transport cannot see them.
  bool has_buffered_input() const { return open_ && mbedtls_ssl_get_bytes_avail(&ssl_) > 0; }

 private:
  Status configure();

  port::Transport& inner_;
  MbedTlsOptions options_;
  bool configured_ = false;
  Status configure_status_ = Status::kOk;
  bool open_ = false;
  // mbedtls_ssl_write must be called again with the same length after WANT_WRITE: the length
  // of the record mbedTLS holds, or 0.
  size_t pending_write_ = 0;
  mbedtls_ssl_context ssl_;
  mbedtls_ssl_config config_;
  mbedtls_x509_crt ca_;
  mbedtls_ctr_drbg_context drbg_;
};

}  // namespace onenet::platform
