// Our TLS layer over mbedTLS 2.28's public SSL API (Debian's libmbedtls-dev, found by
// third_party/): the embedded counterpart of platform/linux/tls_transport.cpp. The record layer
// reads and writes through the inner port::Transport, so any TCP stack can carry it.
#include "onenet/platform/mbedtls_transport.hpp"

#include <mbedtls/net_sockets.h>
#include <mbedtls/x509.h>

#include <cstring>

namespace onenet::platform {
namespace {

// mbedTLS's I/O callbacks, over the inner transport (non-blocking, as port::Transport is).
int send_through(void* context, const unsigned char* data, size_t size) {
  const int32_t n = static_cast<port::Transport*>(context)->send(data, size);
  if (n > 0) return n;
  return n == 0 ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_CONN_RESET;
}

int recv_through(void* context, unsigned char* data, size_t size) {
  const int32_t n = static_cast<port::Transport*>(context)->recv(data, size);
  if (n > 0) return n;
  return n == 0 ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_CONN_RESET;
}

// The DRBG's entropy: the port's random function.
int entropy_from(void* context, unsigned char* out, size_t size) {
  const auto random = reinterpret_cast<port::RandomFunction>(context);
  return random(MutableByteView(out, size)) == Status::kOk ? 0 : -1;
}

}  // namespace

MbedTlsTransport::MbedTlsTransport(port::Transport& inner, const MbedTlsOptions& options)
    : inner_(inner), options_(options) {
  mbedtls_ssl_init(&ssl_);
  mbedtls_ssl_config_init(&config_);
  mbedtls_x509_crt_init(&ca_);
  mbedtls_ctr_drbg_init(&drbg_);
}

MbedTlsTransport::~MbedTlsTransport() {
  close();
  mbedtls_ssl_free(&ssl_);
  mbedtls_ssl_config_free(&config_);
  mbedtls_x509_crt_free(&ca_);
  mbedtls_ctr_drbg_free(&drbg_);
}

// Once, at the first open(): trust anchors, the DRBG, and a client configuration that always
// verifies the server.
Status MbedTlsTransport::configure() {
  if (configured_) return configure_status_;
  configured_ = true;
  configure_status_ = Status::kInvalidArgument;
  if (options_.server_name == nullptr || options_.random == nullptr || options_.clock == nullptr)
    return configure_status_;
  configure_status_ = Status::kTlsCaLoadFailed;
  if (options_.ca_pem == nullptr) return configure_status_;
  // PEM parsing needs the terminating NUL counted in the length.
  if (mbedtls_x509_crt_parse(&ca_, reinterpret_cast<const unsigned char*>(options_.ca_pem),
                             std::strlen(options_.ca_pem) + 1) != 0) {
    return configure_status_;
  }
  configure_status_ = Status::kTlsSetupFailed;
  static const unsigned char kPersonalisation[] = "onenet-sdk";
  if (mbedtls_ctr_drbg_seed(&drbg_, entropy_from, reinterpret_cast<void*>(options_.random),
                            kPersonalisation, sizeof kPersonalisation - 1) != 0 ||
      mbedtls_ssl_config_defaults(&config_, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
    return configure_status_;
  }
  mbedtls_ssl_conf_authmode(&config_, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&config_, &ca_, nullptr);
  mbedtls_ssl_conf_rng(&config_, mbedtls_ctr_drbg_random, &drbg_);
  if (mbedtls_ssl_setup(&ssl_, &config_) != 0 ||
      mbedtls_ssl_set_hostname(&ssl_, options_.server_name) != 0) {
    return configure_status_;
  }
  mbedtls_ssl_set_bio(&ssl_, &inner_, send_through, recv_through, nullptr);
  configure_status_ = Status::kOk;
  return configure_status_;
}

Status MbedTlsTransport::open(uint32_t timeout_ms) {
  close();
  const Status configured = configure();
  if (configured != Status::kOk) return configured;
  const uint64_t start = options_.clock->now_ms();
  const Status opened = inner_.open(timeout_ms);
  if (opened != Status::kOk) return opened;
  for (;;) {
    const int result = mbedtls_ssl_handshake(&ssl_);
    if (result == 0) break;
    const uint64_t elapsed = options_.clock->now_ms() - start;
    if ((result != MBEDTLS_ERR_SSL_WANT_READ && result != MBEDTLS_ERR_SSL_WANT_WRITE) ||
        elapsed >= timeout_ms) {
      const bool unverified = result == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
                              mbedtls_ssl_get_verify_result(&ssl_) != 0;
      const bool timed_out =
          result == MBEDTLS_ERR_SSL_WANT_READ || result == MBEDTLS_ERR_SSL_WANT_WRITE;
      inner_.close();
      mbedtls_ssl_session_reset(&ssl_);
      if (timed_out) return Status::kTransportTimeout;
      return unverified ? Status::kTlsVerifyFailed : Status::kTlsHandshakeFailed;
    }
    // A wait the port cancels (kTransportCancelled: its owner is stopping) ends the attempt.
    const Status waited = inner_.wait(static_cast<uint32_t>(timeout_ms - elapsed),
                                      result == MBEDTLS_ERR_SSL_WANT_WRITE);
    if (waited == Status::kTransportCancelled) {
      inner_.close();
      mbedtls_ssl_session_reset(&ssl_);
      return waited;
    }
  }
  open_ = true;
  pending_write_ = 0;
  return Status::kOk;
}

int32_t MbedTlsTransport::send(const uint8_t* data, size_t size) {
  if (!open_) return -1;
  // After WANT_WRITE mbedTLS holds an encrypted record of `pending_write_` bytes and must be
  // called with that same length; the caller still holds those bytes at `data`.
  const size_t length =
      pending_write_ != 0 ? pending_write_ : (size > INT32_MAX ? INT32_MAX : size);
  const int result = mbedtls_ssl_write(&ssl_, data, length);
  if (result >= 0) {
    pending_write_ = 0;
    return result;
  }
  if (result == MBEDTLS_ERR_SSL_WANT_WRITE || result == MBEDTLS_ERR_SSL_WANT_READ) {
    pending_write_ = length;
    return 0;
  }
  return -1;
}

int32_t MbedTlsTransport::recv(uint8_t* data, size_t size) {
  if (!open_) return -1;
  const int result = mbedtls_ssl_read(&ssl_, data, size > INT32_MAX ? INT32_MAX : size);
  if (result > 0) return result;
  if (result == MBEDTLS_ERR_SSL_WANT_READ || result == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
  return -1;  // close_notify (0 or PEER_CLOSE_NOTIFY), a reset, or a bad record
}

Status MbedTlsTransport::wait(uint32_t timeout_ms, bool for_write) {
  if (!for_write && has_buffered_input()) return Status::kOk;
  return inner_.wait(timeout_ms, for_write);
}

void MbedTlsTransport::close() {
  if (open_) (void)mbedtls_ssl_close_notify(&ssl_);
  if (open_ || configured_) inner_.close();
  if (configured_ && configure_status_ == Status::kOk) mbedtls_ssl_session_reset(&ssl_);
  open_ = false;
  pending_write_ = 0;
}

}  // namespace onenet::platform
