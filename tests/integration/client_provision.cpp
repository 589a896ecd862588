// sdk/provision's failure paths against real loopback servers, with no onenet-local (so that the
// ASan+UBSan stage runs them too): a closed port, a server that hangs up, one that never answers,
// one whose answer seems never to end, and an untrusted TLS server (openssl s_server).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "onenet/platform/hmac.hpp"
#include "onenet/provision/api_client.hpp"
#include "process.hpp"

using itest::Process;
using itest::run;
using onenet::Status;
using onenet::provision::ApiClient;
using onenet::provision::ApiOptions;

namespace {

std::unique_ptr<ApiClient> make_client(ApiOptions o) {
  auto client = ApiClient::create(std::move(o));
  REQUIRE(client.ok());
  return std::move(client.value());
}

// A loopback listener that accepts connections and closes them at once, holds them open without
// answering, or answers with a body of 64 MiB (or until the client goes) and holds them; counts
// accepted connections. Stopped (and joined) by its destructor.
class RawServer {
 public:
  enum class Mode { kHangUp, kHold, kFlood };
  explicit RawServer(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stopping_) {
          if (c >= 0) ::close(c);
          return;
        }
        ++accepted;
        if (mode_ == Mode::kHangUp) {
          ::close(c);
        } else if (mode_ == Mode::kHold) {
          held_.push_back(c);
        } else {
          flood(c);
          held_.push_back(c);
        }
      }
    });
  }
  ~RawServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
    for (const int c : held_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> accepted{0};
  std::atomic<size_t> flooded{0};  // body bytes the client took before it went

 private:
  void flood(int c) {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n";
    if (::send(c, head.data(), head.size(), MSG_NOSIGNAL) < 0) return;
    const std::vector<char> chunk(64 * 1024, '[');
    // Bounded, so that a client without a limit runs into its timeout, not out of memory.
    while (!stopping_ && flooded < 64 * 1024 * 1024) {
      const ssize_t n = ::send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the client closed the connection
      flooded += static_cast<size_t>(n);
    }
  }

  Mode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<int> held_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("provision API: network failures are retried, answers are not") {
  auto options_for = [](const std::string& url) {
    ApiOptions o;
    o.api_url = url;
    o.resource = "userid/1";
    o.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
    o.hmac = onenet::platform::default_hmac();
    o.max_attempts = 3;
    o.backoff_ms = 10;
    o.timeout_ms = 300;
    return o;
  };
  SUBCASE("nothing listens") {
    auto api = make_client(options_for("http://127.0.0.1:" + std::to_string(itest::free_port())));
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionNetworkFailed);
    CHECK(api->attempts() == 3);
    CHECK(api->last_error().message.find("127.0.0.1") != std::string::npos);
  }
  SUBCASE("the server hangs up without answering") {
    RawServer server(RawServer::Mode::kHangUp);
    auto api = make_client(options_for(server.url()));
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionNetworkFailed);
    CHECK(server.accepted == 3);
  }
  SUBCASE("the server never answers") {
    RawServer server(RawServer::Mode::kHold);
    auto api = make_client(options_for(server.url()));
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionTimeout);
    CHECK(server.accepted == 3);
  }
  SUBCASE("the server answers without end: cut off at 16 MiB, not retried") {
    RawServer server(RawServer::Mode::kFlood);
    ApiOptions o = options_for(server.url());
    o.timeout_ms = 5000;  // the limit ends it, not the clock
    auto api = make_client(o);
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionBadResponse);
    CHECK(api->attempts() == 1);
    CHECK(api->last_error().message.find("16 MiB") != std::string::npos);
    CHECK(server.flooded < 64 * 1024 * 1024);  // the client went before the end
  }
}

TEST_CASE("provision API: https verifies the server") {
  itest::TempDir dir;
  REQUIRE(run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
               "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
               dir.file("key.pem"), "-out", dir.file("cert.pem")}) == 0);
  const uint16_t port = itest::free_port();
  auto server = Process::start({"openssl", "s_server", "-accept",
                                "127.0.0.1:" + std::to_string(port), "-cert", dir.file("cert.pem"),
                                "-key", dir.file("key.pem"), "-www", "-naccept", "2"});
  REQUIRE(server);
  REQUIRE(server->wait_for_line([](const std::string& l) { return l == "ACCEPT"; }, 10000));
  ApiOptions o;
  o.api_url = "https://127.0.0.1:" + std::to_string(port);
  o.resource = "userid/1";
  o.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  o.hmac = onenet::platform::default_hmac();
  auto untrusted = make_client(o);
  CHECK(untrusted->device_detail("P", "d", nullptr) == Status::kTlsVerifyFailed);
  CHECK(untrusted->attempts() == 1);
  // Trusting its certificate gets through TLS; s_server's HTML status page is not OneNET's JSON.
  o.ca_file = dir.file("cert.pem");
  auto trusting = make_client(o);
  CHECK(trusting->device_detail("P", "d", nullptr) == Status::kProvisionBadResponse);
  server->signal(SIGTERM);
  server->wait(10000);
}
