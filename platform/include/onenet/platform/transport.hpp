// Linux transports: TCP, and TLS (OpenSSL) over that TCP. RAII, move-only; one thread at a
// time. open() blocks for at most its timeout; send/recv never block.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "onenet/port.hpp"

namespace onenet::platform {

/// A transport with a pollable file descriptor (what the Runner waits on).
class NativeTransport : public port::Transport {
 public:
  /// The socket descriptor while open, else -1.
  virtual int native_handle() const = 0;
};

/// Plain TCP to `host:port`: getaddrinfo (IPv4 and IPv6, every address tried in turn),
/// non-blocking connect bounded by the open() timeout, TCP_NODELAY.
class TcpTransport : public NativeTransport {
 public:
  TcpTransport(std::string host, uint16_t port);
  ~TcpTransport() override;
  TcpTransport(TcpTransport&& other) noexcept;
  TcpTransport& operator=(TcpTransport&&) = delete;
  TcpTransport(const TcpTransport&) = delete;

  Status open(uint32_t timeout_ms) override;
  int32_t send(const uint8_t* data, size_t size) override;
  int32_t recv(uint8_t* data, size_t size) override;
  Status wait(uint32_t timeout_ms, bool for_write) override;
  void close() override;
  int native_handle() const override { return fd_; }

 private:
  std::string host_;
  uint16_t port_;
  int fd_ = -1;
};

struct TlsOptions {
  /// Trust anchors: any of a PEM file, a hashed directory, or PEM text. One is required
  /// unless `insecure`.
  std::string ca_file;
  std::string ca_dir;
  std::string ca_pem;
  /// Name for SNI and certificate verification; empty: the host given to the transport.
  std::string server_name;
  /// Optional client certificate and key (PEM files).
  std::string cert_file;
  std::string key_file;
  /// Skips server verification. Never for production: open() logs a warning every time.
  bool insecure = false;
};

/// TLS 1.2/1.3 over TcpTransport with OpenSSL. The server is verified by default: the chain
/// against the CA, and the host name (or IP address) against the certificate.
class TlsTransport : public NativeTransport {
 public:
  TlsTransport(std::string host, uint16_t port, TlsOptions options);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  /// TCP connect, then the handshake, both within `timeout_ms`. kTlsCaLoadFailed,
  /// kTlsVerifyFailed (chain or name), kTlsHandshakeFailed, or a TCP status.
  Status open(uint32_t timeout_ms) override;
  int32_t send(const uint8_t* data, size_t size) override;
  int32_t recv(uint8_t* data, size_t size) override;
  Status wait(uint32_t timeout_ms, bool for_write) override;
  void close() override;
  int native_handle() const override { return tcp_.native_handle(); }

 private:
  struct Tls;
  Status ensure_context();

  TcpTransport tcp_;
  std::string host_;
  TlsOptions options_;
  std::unique_ptr<Tls> tls_;
};

/// Writes "onenet: warning: <message>" to stderr. Never given secrets.
void log_warning(const char* message);

/// A port::Clock over CLOCK_MONOTONIC.
class SystemClock : public port::Clock {
 public:
  uint64_t now_ms() override;
};

}  // namespace onenet::platform
