// TlsTransport on a build without OpenSSL (-DONENET_TLS=mbedtls): the same class over
// MbedTlsTransport, so samples and tools keep one TLS type. mbedTLS 2.28 verifies names against
// the certificate's DNS names only, so `server_name` must be a host name (not an IP address);
// CA directories, client certificates and `insecure` are OpenSSL-only and refused here.
// Setting up fails the same way on every open(): a missing CA stays missing.
#include <poll.h>

#include <fstream>
#include <sstream>

#include "onenet/platform/mbedtls_transport.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace onenet::platform {
namespace {

bool read_text(const std::string& path, std::string* out) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return false;
  *out = text.str();
  return true;
}

// The TCP link as the mbedTLS layer sees it: while `opening`, a wait also ends when the cancel
// descriptor becomes readable (kTransportCancelled), so a stopping runner need not wait out a
// handshake. Once open, waits are the TCP link's own.
class CancellableTcp : public port::Transport {
 public:
  explicit CancellableTcp(TcpTransport& tcp) : tcp_(tcp) {}
  Status open(uint32_t timeout_ms) override { return tcp_.open(timeout_ms); }
  int32_t send(const uint8_t* data, size_t size) override { return tcp_.send(data, size); }
  int32_t recv(uint8_t* data, size_t size) override { return tcp_.recv(data, size); }
  Status wait(uint32_t timeout_ms, bool for_write) override {
    if (!opening || cancel_fd < 0) return tcp_.wait(timeout_ms, for_write);
    pollfd p[2] = {{tcp_.native_handle(), static_cast<short>(for_write ? POLLOUT : POLLIN), 0},
                   {cancel_fd, POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(timeout_ms)) > 0 && (p[1].revents & POLLIN) != 0)
      return Status::kTransportCancelled;
    return Status::kOk;
  }
  void close() override { tcp_.close(); }

  int cancel_fd = -1;
  bool opening = false;

 private:
  TcpTransport& tcp_;
};

}  // namespace

struct TlsTransport::Tls {
  explicit Tls(TcpTransport& tcp) : link(tcp) {}
  std::string ca_pem;
  SystemClock clock;
  CancellableTcp link;
  std::unique_ptr<MbedTlsTransport> layer;
  Status setup = Status::kOk;
};

TlsTransport::TlsTransport(std::string host, uint16_t port, TlsOptions options)
    : tcp_(host, port), host_(std::move(host)), options_(std::move(options)), tls_(new Tls(tcp_)) {
  if (options_.server_name.empty()) options_.server_name = host_;
}

TlsTransport::~TlsTransport() {
  close();
}

Status TlsTransport::ensure_context() {
  if (tls_->layer) return tls_->setup;
  if (options_.insecure || !options_.cert_file.empty() || !options_.key_file.empty()) {
    log_warning(
        "this build's TLS (mbedTLS) always verifies the server and has no client "
        "certificates: rebuild with -DONENET_TLS=openssl for them");
    return Status::kTlsSetupFailed;
  }
  // Trust anchors as OpenSSL's TlsTransport takes them: a file and/or PEM text, one required.
  tls_->setup = Status::kTlsCaLoadFailed;
  if (!options_.ca_dir.empty()) {
    log_warning("this build's TLS (mbedTLS) cannot read a hashed CA directory: give ca_file");
    return tls_->setup;
  }
  if (!options_.ca_file.empty() && !read_text(options_.ca_file, &tls_->ca_pem)) return tls_->setup;
  tls_->ca_pem += options_.ca_pem;
  if (tls_->ca_pem.empty()) return tls_->setup;  // verification without a trust anchor
  MbedTlsOptions layer;
  layer.ca_pem = tls_->ca_pem.c_str();
  layer.server_name = options_.server_name.c_str();
  layer.random = system_random;
  layer.clock = &tls_->clock;
  tls_->layer = std::make_unique<MbedTlsTransport>(tls_->link, layer);
  tls_->setup = Status::kOk;
  return Status::kOk;
}

Status TlsTransport::open(uint32_t timeout_ms) {
  const Status ready = ensure_context();
  if (ready != Status::kOk) return ready;
  tls_->link.cancel_fd = cancel_fd_;
  tls_->link.opening = true;
  const Status opened = tls_->layer->open(timeout_ms);
  tls_->link.opening = false;
  return opened;
}

int32_t TlsTransport::send(const uint8_t* data, size_t size) {
  return tls_->layer ? tls_->layer->send(data, size) : -1;
}

int32_t TlsTransport::recv(uint8_t* data, size_t size) {
  return tls_->layer ? tls_->layer->recv(data, size) : -1;
}

bool TlsTransport::has_buffered_input() const {
  return tls_->layer != nullptr && tls_->layer->has_buffered_input();
}

Status TlsTransport::wait(uint32_t timeout_ms, bool for_write) {
  return tls_->layer ? tls_->layer->wait(timeout_ms, for_write) : tcp_.wait(timeout_ms, for_write);
}

void TlsTransport::close() {
  if (tls_->layer) {
    tls_->layer->close();  // close_notify, then the TCP link underneath
  } else {
    tcp_.close();
  }
}

}  // namespace onenet::platform
