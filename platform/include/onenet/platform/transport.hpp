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
  /// Received bytes held inside the transport (a TLS layer's decrypted record), which poll() on
  /// native_handle() cannot see: whoever waits on the descriptor must not sleep while this holds.
  virtual bool has_buffered_input() const { return false; }
  /// A descriptor that, once readable, cancels an open() under way: it returns
  /// kTransportCancelled rather than wait out its timeout. A Runner sets its stop event here
  /// while it runs, so that stop() does not wait for a connect to an unreachable broker. -1:
  /// none. The descriptor is borrowed, and only polled.
  virtual void set_cancel_fd(int fd) { cancel_fd_ = fd; }

 protected:
  int cancel_fd_ = -1;
};

/// Plain TCP to `host:port`: getaddrinfo (IPv4 and IPv6, every address tried in turn),
/// non-blocking connect bounded by the open() timeout (and cancelled by set_cancel_fd's
/// descriptor), TCP_NODELAY. getaddrinfo itself is not cancelled: it blocks on DNS.
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
  /// Waits for data (or room, with `for_write`). Receive coalescing: while data arrives as a
  /// stream, the next wait first sleeps `delay_us` off the socket, so that several messages
  /// gather and the sender does not pay a wakeup of this thread for each one (bench_mqtt
  /// measured a fifth of mosquitto's time spent so). A stream is four arrivals in a row, each
  /// less than `stream_gap_us` after the one before, so a request and its reply (an
  /// acknowledgement, then a message) never count as one; the first message after a pause is
  /// never delayed; once a coalescing sleep finds nothing, waits wake on every arrival again.
  Status wait(uint32_t timeout_ms, bool for_write) override;
  void close() override;
  int native_handle() const override { return fd_; }

  /// Tunes receive coalescing (defaults: 20 us, 50 us); `delay_us` 0 turns it off.
  void set_receive_coalescing(uint16_t stream_gap_us, uint16_t delay_us) {
    stream_gap_us_ = stream_gap_us;
    coalesce_delay_us_ = delay_us;
  }

 private:
  std::string host_;
  uint16_t port_;
  uint16_t stream_gap_us_ = 20;
  uint16_t coalesce_delay_us_ = 50;
  uint8_t short_gaps_ = 0;  // consecutive arrivals within stream_gap_us_ (saturates)
  int fd_ = -1;
  uint32_t last_arrival_us_ = 0;  // wraps: only differences are used
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
  /// kTlsVerifyFailed (chain or name), kTlsHandshakeFailed, or a TCP status. set_cancel_fd's
  /// descriptor cancels either (in the mbedTLS build too).
  Status open(uint32_t timeout_ms) override;
  int32_t send(const uint8_t* data, size_t size) override;
  int32_t recv(uint8_t* data, size_t size) override;
  Status wait(uint32_t timeout_ms, bool for_write) override;
  void close() override;
  int native_handle() const override { return tcp_.native_handle(); }
  bool has_buffered_input() const override;
  void set_cancel_fd(int fd) override {
    cancel_fd_ = fd;
    tcp_.set_cancel_fd(fd);
  }
  /// Receive coalescing of the TCP link underneath (see TcpTransport::wait).
  void set_receive_coalescing(uint16_t stream_gap_us, uint16_t delay_us) {
    tcp_.set_receive_coalescing(stream_gap_us, delay_us);
  }

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
