// sdk/provision's failure paths against real loopback servers, with no onenet-local (so that the
// ASan+UBSan stage runs them too): a closed port, a server that hangs up, one that never answers,
// and an untrusted TLS server (openssl s_server).
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

// A loopback listener that accepts connections and either closes them at once or holds them
// open without answering; counts accepted connections. Stopped (and joined) by its destructor.
class RawServer {
 public:
  explicit RawServer(bool hang_up) : hang_up_(hang_up) {
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
        if (hang_up_) {
          ::close(c);
        } else {
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

 private:
  bool hang_up_;
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
    RawServer server(true);
    auto api = make_client(options_for(server.url()));
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionNetworkFailed);
    CHECK(server.accepted == 3);
  }
  SUBCASE("the server never answers") {
    RawServer server(false);
    auto api = make_client(options_for(server.url()));
    CHECK(api->device_detail("P", "d", nullptr) == Status::kProvisionTimeout);
    CHECK(server.accepted == 3);
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
