#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace onenet::platform {
namespace {

bool is_ip_address(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

bool add_pem_certificates(SSL_CTX* ctx, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error by design
  BIO_free(bio);
  return added > 0;
}

// OpenSSL's socket BIO writes with write(2): once the peer has reset the connection, the next
// write raises SIGPIPE, whose default action ends the process (a TLS device killed because its
// broker went away). This BIO moves TLS records through TcpTransport instead, which sends with
// MSG_NOSIGNAL, so a dead link is an error the client handles, as it is without TLS.
int tcp_bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  auto* tcp = static_cast<TcpTransport*>(BIO_get_data(bio));
  const int32_t n = tcp->send(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(size));
  if (n == 0) {
    BIO_set_retry_write(bio);
    return -1;
  }
  return n;  // -1: the link failed
}

int tcp_bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  auto* tcp = static_cast<TcpTransport*>(BIO_get_data(bio));
  const int32_t n = tcp->recv(reinterpret_cast<uint8_t*>(data), static_cast<size_t>(size));
  if (n == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  return n;  // -1: closed by the peer, or failed
}

long tcp_bio_ctrl(BIO*, int command, long, void*) {  // NOLINT(runtime/int): OpenSSL's type
  return command == BIO_CTRL_FLUSH ? 1 : 0;          // nothing is buffered here
}

// One method for the process, made on first use (thread-safe static) and never freed.
const BIO_METHOD* tcp_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "onenet tcp");
    if (m != nullptr) {
      BIO_meth_set_write(m, tcp_bio_write);
      BIO_meth_set_read(m, tcp_bio_read);
      BIO_meth_set_ctrl(m, tcp_bio_ctrl);
    }
    return m;
  }();
  return method;
}

}  // namespace

struct TlsTransport::Tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~Tls() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

TlsTransport::TlsTransport(std::string host, uint16_t port, TlsOptions options)
    : tcp_(host, port), host_(std::move(host)), options_(std::move(options)), tls_(new Tls) {
  if (options_.server_name.empty()) options_.server_name = host_;
}

TlsTransport::~TlsTransport() {
  close();
}

Status TlsTransport::ensure_context() {
  if (tls_->ctx != nullptr) return Status::kOk;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::kTlsSetupFailed;
  tls_->ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // The client retries a write with the same bytes from a buffer that may have moved.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (options_.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return Status::kOk;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  bool loaded = false;
  if (!options_.ca_file.empty() || !options_.ca_dir.empty()) {
    loaded = SSL_CTX_load_verify_locations(
                 ctx, options_.ca_file.empty() ? nullptr : options_.ca_file.c_str(),
                 options_.ca_dir.empty() ? nullptr : options_.ca_dir.c_str()) == 1;
    if (!loaded) return Status::kTlsCaLoadFailed;
  }
  if (!options_.ca_pem.empty()) {
    if (!add_pem_certificates(ctx, options_.ca_pem)) return Status::kTlsCaLoadFailed;
    loaded = true;
  }
  if (!loaded) return Status::kTlsCaLoadFailed;  // verification without a trust anchor
  if (!options_.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx, options_.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(
           ctx, options_.key_file.empty() ? options_.cert_file.c_str() : options_.key_file.c_str(),
           SSL_FILETYPE_PEM) != 1)) {
    return Status::kTlsSetupFailed;
  }
  return Status::kOk;
}

Status TlsTransport::open(uint32_t timeout_ms) {
  close();
  const Status context = ensure_context();
  if (context != Status::kOk) {
    SSL_CTX_free(tls_->ctx);
    tls_->ctx = nullptr;
    return context;
  }
  if (options_.insecure) {
    log_warning(
        "TLS server verification is OFF (--insecure): anyone on the path can impersonate the "
        "broker");
  }
  const uint64_t deadline = monotonic_ms() + timeout_ms;
  const Status connected = tcp_.open(timeout_ms);
  if (connected != Status::kOk) return connected;

  const BIO_METHOD* method = tcp_bio_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  SSL* ssl = bio != nullptr ? SSL_new(tls_->ctx) : nullptr;
  if (ssl == nullptr) {
    BIO_free(bio);
    tcp_.close();
    return Status::kTlsSetupFailed;
  }
  BIO_set_data(bio, &tcp_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways; the SSL owns it now
  tls_->ssl = ssl;
  const std::string& name = options_.server_name;
  if (is_ip_address(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());  // SNI is for DNS names only (RFC 6066)
    SSL_set1_host(ssl, name.c_str());
  }
  for (;;) {
    ERR_clear_error();
    const int r = SSL_connect(ssl);
    if (r == 1) return Status::kOk;
    const int error = SSL_get_error(ssl, r);
    const uint64_t now = monotonic_ms();
    if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) || now >= deadline) {
      const bool verify_failed = SSL_get_verify_result(ssl) != X509_V_OK;
      close();
      if (now >= deadline) return Status::kTransportTimeout;
      return verify_failed ? Status::kTlsVerifyFailed : Status::kTlsHandshakeFailed;
    }
    pollfd p[2] = {{tcp_.native_handle(),
                    static_cast<short>(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0},
                   {cancel_fd_, POLLIN, 0}};
    ::poll(p, cancel_fd_ >= 0 ? 2 : 1, static_cast<int>(deadline - now));
    if (cancel_fd_ >= 0 && (p[1].revents & POLLIN) != 0) {
      close();
      return Status::kTransportCancelled;
    }
  }
}

int32_t TlsTransport::send(const uint8_t* data, size_t size) {
  if (tls_->ssl == nullptr) return -1;
  ERR_clear_error();
  const int n = SSL_write(tls_->ssl, data, static_cast<int>(size > INT32_MAX ? INT32_MAX : size));
  if (n > 0) return n;
  const int error = SSL_get_error(tls_->ssl, n);
  return (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) ? 0 : -1;
}

int32_t TlsTransport::recv(uint8_t* data, size_t size) {
  if (tls_->ssl == nullptr) return -1;
  ERR_clear_error();
  const int n = SSL_read(tls_->ssl, data, static_cast<int>(size > INT32_MAX ? INT32_MAX : size));
  if (n > 0) return n;
  const int error = SSL_get_error(tls_->ssl, n);
  return (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) ? 0 : -1;
}

Status TlsTransport::wait(uint32_t timeout_ms, bool for_write) {
  // Decrypted bytes may already sit inside OpenSSL, where poll() cannot see them.
  if (tls_->ssl != nullptr && !for_write && SSL_pending(tls_->ssl) > 0) return Status::kOk;
  return tcp_.wait(timeout_ms, for_write);
}

bool TlsTransport::has_buffered_input() const {
  return tls_->ssl != nullptr && SSL_pending(tls_->ssl) > 0;
}

void TlsTransport::close() {
  if (tls_ && tls_->ssl != nullptr) {
    SSL_shutdown(tls_->ssl);  // best effort close_notify; the socket is non-blocking
    SSL_free(tls_->ssl);
    tls_->ssl = nullptr;
  }
  tcp_.close();
}

}  // namespace onenet::platform
