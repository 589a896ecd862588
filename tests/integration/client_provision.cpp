// sdk/provision's failure paths against real loopback servers, with no onenet-local (so that the
// ASan+UBSan stage runs them too): a closed port, a server that hangs up, one that never answers,
// one whose answer seems never to end, an untrusted TLS server (openssl s_server), and OTA
// downloads over links that drop mid-package.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
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
using onenet::provision::DeviceInfo;

namespace {

ApiOptions loopback_options(const std::string& url, const std::string& resource,
                            uint32_t max_attempts, uint32_t timeout_ms) {
  ApiOptions o;
  o.api_url = url;
  o.resource = resource;
  o.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  o.hmac = onenet::platform::default_hmac();
  o.max_attempts = max_attempts;
  o.backoff_ms = 10;
  o.timeout_ms = timeout_ms;
  return o;
}

std::unique_ptr<ApiClient> make_client(ApiOptions o) {
  auto client = ApiClient::create(std::move(o));
  REQUIRE(client.ok());
  return std::move(client.value());
}

// A listening socket on a free loopback port (`*port`).
int listen_on_loopback(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  REQUIRE(::listen(fd, 16) == 0);
  return fd;
}

// A loopback listener that accepts connections and closes them at once, holds them open without
// answering, or answers with a body of 64 MiB (or until the client goes) and holds them; counts
// accepted connections. Stopped (and joined) by its destructor.
//
// Or it serves an OTA package, one request per connection: honours "Range: bytes=N-" with 206
// (or, `honour_range` off, ignores it: 200 from byte 0), announces the length asked for, and
// sends at most `per_connection` bytes of it before it hangs up: a link that drops mid-package.
class RawServer {
 public:
  enum class Mode { kHangUp, kHold, kFlood, kPackage, kAnswer };
  explicit RawServer(Mode mode) : mode_(mode), fd_(listen_on_loopback(&port_)) { start(); }
  /// kAnswer: every request gets `status_line` (e.g. "200 OK") with `body` of `content_type`.
  RawServer(std::string status_line, std::string content_type, std::string body)
      : mode_(Mode::kAnswer),
        fd_(listen_on_loopback(&port_)),
        package_(std::move(body)),
        status_line_(std::move(status_line)),
        content_type_(std::move(content_type)) {
    start();
  }
  RawServer(std::string package, size_t per_connection, bool honour_range = true)
      : mode_(Mode::kPackage),
        fd_(listen_on_loopback(&port_)),
        package_(std::move(package)),
        per_connection_(per_connection),
        honour_range_(honour_range) {
    start();
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
  std::atomic<int> ranged{0};      // package requests that asked for a range

 private:
  void start() {
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stopping_) {
          if (c >= 0) ::close(c);
          return;
        }
        ++accepted;
        if (mode_ == Mode::kPackage) {
          serve_package(c);
          ::close(c);
        } else if (mode_ == Mode::kAnswer) {
          serve_answer(c);
          ::close(c);
        } else if (mode_ == Mode::kHangUp) {
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

  // The request's head; "" when the client went first.
  static std::string read_head(int c) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = ::recv(c, buffer, sizeof buffer, 0);
      if (n <= 0) return {};
      request.append(buffer, static_cast<size_t>(n));
    }
    return request;
  }
  void serve_answer(int c) {
    if (read_head(c).empty()) return;
    const std::string answer = "HTTP/1.1 " + status_line_ + "\r\nContent-Type: " + content_type_ +
                               "\r\nContent-Length: " + std::to_string(package_.size()) +
                               "\r\nConnection: close\r\n\r\n" + package_;
    (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
  }
  void serve_package(int c) {
    const std::string request = read_head(c);
    if (request.empty()) return;
    size_t from = 0;
    const size_t range = request.find("Range: bytes=");
    if (range != std::string::npos) {
      ++ranged;
      if (honour_range_) from = std::strtoull(request.c_str() + range + 13, nullptr, 10);
    }
    const bool partial = honour_range_ && range != std::string::npos;
    const size_t length = package_.size() - from;
    std::string head = partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
    head += "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
            "\r\n";
    if (partial) {
      head += "Content-Range: bytes " + std::to_string(from) + "-" +
              std::to_string(package_.size() - 1) + "/" + std::to_string(package_.size()) + "\r\n";
    }
    head += "Connection: close\r\n\r\n";
    const std::string body = package_.substr(from, std::min(length, per_connection_));
    (void)::send(c, head.data(), head.size(), MSG_NOSIGNAL);
    (void)::send(c, body.data(), body.size(), MSG_NOSIGNAL);
  }

  Mode mode_;
  uint16_t port_ = 0;  // before fd_: listen_on_loopback sets it
  int fd_ = -1;
  std::string package_;
  size_t per_connection_ = 0;
  bool honour_range_ = true;
  std::string status_line_;
  std::string content_type_;
  std::atomic<bool> stopping_{false};
  std::vector<int> held_;
  std::thread thread_;
};

// The MD5 as coreutils' md5sum computes it: a check independent of the SDK's own.
std::string md5sum(const std::string& bytes) {
  itest::TempDir dir;
  std::ofstream(dir.file("bytes"), std::ios::binary) << bytes;
  std::string output;
  REQUIRE(run({"md5sum", dir.file("bytes")}, 10000, &output) == 0);
  return output.substr(0, 32);
}

}  // namespace

TEST_CASE("provision API: network failures are retried, answers are not") {
  auto options_for = [](const std::string& url) {
    return loopback_options(url, "userid/1", 3, 300);
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

TEST_CASE("OTA download: a link that drops mid-package is resumed where it stopped") {
  std::string package(10000, '\0');
  for (size_t i = 0; i < package.size(); ++i) package[i] = static_cast<char>(i * 7 + i / 256);
  onenet::provision::OtaTask task;
  task.tid = "9";
  task.size = package.size();
  task.md5 = md5sum(package);
  itest::TempDir dir;
  const std::string path = dir.file("package.bin");
  // max_attempts 2: failures in a row without progress.
  auto options_for = [](const std::string& url) {
    return loopback_options(url, "products/P/devices/d", 2, 2000);
  };
  SUBCASE("each connection carries 3000 bytes: four requests, three of them from a Range") {
    RawServer server(package, 3000);
    auto api = make_client(options_for(server.url()));
    REQUIRE(api->ota_download("P", "d", task, path) == Status::kOk);
    CHECK(itest::read_file(path) == package);
    CHECK(server.accepted == 4);
    CHECK(server.ranged == 3);
  }
  SUBCASE("a server that ignores the Range starts again each time: given up, not looped") {
    RawServer server(package, 3000, false);
    auto api = make_client(options_for(server.url()));
    CHECK(api->ota_download("P", "d", task, path) == Status::kProvisionNetworkFailed);
    // The first connection made progress (3000 bytes); then two without any.
    CHECK(server.accepted == 3);
  }
  SUBCASE("a package that does not match the MD5 is deleted") {
    RawServer server(package, package.size());
    auto api = make_client(options_for(server.url()));
    task.md5 = std::string(32, '0');
    CHECK(api->ota_download("P", "d", task, path) == Status::kProvisionOtaChecksumMismatch);
    CHECK_FALSE(std::ifstream(path).good());
    CHECK(server.accepted == 1);
    // With kept bytes, the whole package is fetched once more before the file is given up.
    std::ofstream(path, std::ios::binary) << package.substr(0, 500);
    CHECK(api->ota_download("P", "d", task, path) == Status::kProvisionOtaChecksumMismatch);
    CHECK_FALSE(std::ifstream(path).good());
    CHECK(server.accepted == 3);
    CHECK(server.ranged == 1);
  }
  SUBCASE("a server that sends more than the task's size is refused") {
    RawServer server(package + "extra", package.size() + 5);
    auto api = make_client(options_for(server.url()));
    CHECK(api->ota_download("P", "d", task, path) == Status::kProvisionBadResponse);
    CHECK(api->last_error().message.find("more bytes than the task's size") != std::string::npos);
  }
  SUBCASE("nothing listens: the network failure, after max_attempts") {
    auto api = make_client(options_for("http://127.0.0.1:" + std::to_string(itest::free_port())));
    CHECK(api->ota_download("P", "d", task, path) == Status::kProvisionNetworkFailed);
    CHECK(api->attempts() == 2);
  }
  SUBCASE("a file that cannot be written: said at once, and a full disk is not retried") {
    RawServer server(package, package.size());
    auto api = make_client(options_for(server.url()));
    CHECK(api->ota_download("P", "d", task, dir.file("no/such/dir/p.bin")) ==
          Status::kInvalidArgument);
    CHECK(api->last_error().message ==
          dir.file("no/such/dir/p.bin") + ": cannot be opened for writing");
    CHECK(server.accepted == 0);
    // /dev/full takes the open and refuses every write (ENOSPC), as a full disk does.
    CHECK(api->ota_download("P", "d", task, "/dev/full") == Status::kInvalidArgument);
    CHECK(api->last_error().message.find("write failed") != std::string::npos);
    CHECK(server.accepted == 1);
  }
}

TEST_CASE("OTA answers that are not what fuse-ota sends: refused with a reason, no file left") {
  itest::TempDir dir;
  auto client_for = [](const RawServer& server) {
    return make_client(loopback_options(server.url(), "products/P/devices/d", 2, 2000));
  };
  onenet::provision::OtaTask task;
  SUBCASE("a task without md5") {
    RawServer server("200 OK", "application/json", R"({"code":0,"data":{"tid":1,"size":10}})");
    auto api = client_for(server);
    CHECK(api->ota_check("P", "d", onenet::provision::OtaKind::kFirmware, "1.0", &task) ==
          Status::kProvisionBadResponse);
    CHECK(api->last_error().message.find("md5") != std::string::npos);
  }
  SUBCASE("data that is not an object") {
    RawServer server("200 OK", "application/json", R"({"code":0,"data":[1,2]})");
    auto api = client_for(server);
    CHECK(api->ota_check("P", "d", onenet::provision::OtaKind::kFirmware, "1.0", &task) ==
          Status::kProvisionBadResponse);
  }
  task.tid = "5";
  task.size = 100;
  task.md5 = std::string(32, 'a');
  SUBCASE("a download answered with OneNET's error envelope") {
    RawServer server("200 OK", "application/json", R"({"code":12012,"msg":"not exist"})");
    auto api = client_for(server);
    CHECK(api->ota_download("P", "d", task, dir.file("p.bin")) == Status::kProvisionNoOtaTask);
    CHECK(api->last_error().code == 12012);
    CHECK(api->last_error().message == "not exist");
    CHECK(server.accepted == 1);  // an answer, not a failure: not retried
  }
  SUBCASE("a download answered with a web page") {
    RawServer server("404 Not Found", "text/html", "<html>no</html>");
    auto api = client_for(server);
    CHECK(api->ota_download("P", "d", task, dir.file("p.bin")) == Status::kProvisionBadResponse);
    CHECK(api->last_error().message.find("HTTP 404") != std::string::npos);
  }
  CHECK_FALSE(std::ifstream(dir.file("p.bin")).good());
}

TEST_CASE("thing-model commands: retried only while none of the request was sent") {
  auto options_for = [](const std::string& url) {
    return loopback_options(url, "userid/1", 3, 300);
  };
  SUBCASE("nothing listens: nothing was sent, so each attempt is made") {
    auto api = make_client(options_for("http://127.0.0.1:" + std::to_string(itest::free_port())));
    CHECK(api->set_device_properties("P", "d", R"({"interval":5})") ==
          Status::kProvisionNetworkFailed);
    CHECK(api->attempts() == 3);
    CHECK(api->call_service("P", "d", "reboot", "{}", nullptr) == Status::kProvisionNetworkFailed);
    CHECK(api->attempts() == 6);
  }
  SUBCASE("the server takes the request and never answers: it may have acted, so once only") {
    RawServer server(RawServer::Mode::kHold);
    auto api = make_client(options_for(server.url()));
    CHECK(api->set_device_properties("P", "d", R"({"interval":5})") == Status::kProvisionTimeout);
    CHECK(server.accepted == 1);
    CHECK(api->call_service("P", "d", "reboot", R"({"delay":1})", nullptr) ==
          Status::kProvisionTimeout);
    CHECK(server.accepted == 2);
    // A query changes nothing: it is retried as every other read is.
    CHECK(api->query_device_properties("P", "d", nullptr) == Status::kProvisionTimeout);
    CHECK(server.accepted == 5);
  }
}

TEST_CASE("thing-model commands: params checked before anything is sent; odd answers refused") {
  SUBCASE("bad params") {
    auto api = make_client(loopback_options(
        "http://127.0.0.1:" + std::to_string(itest::free_port()), "userid/1", 1, 300));
    const std::pair<const char*, const char*> refused[] = {
        {R"({"interval":)", "params: not JSON (or not UTF-8)"},
        {"[1,2]", "params: expected a JSON object"},
        {"42", "params: expected a JSON object"},
        {"{}", "params: no property to set"},
        {"{\"name\":\"\xC3\x28\"}", "params: not JSON (or not UTF-8)"},
    };
    for (const auto& [params, problem] : refused) {
      const std::string shown = params;
      CAPTURE(shown);
      CHECK(api->set_device_properties("P", "d", params) == Status::kInvalidArgument);
      CHECK(api->last_error().message == std::string("set-device-property: ") + problem);
    }
    CHECK(api->call_service("P", "d", "", "{}", nullptr) == Status::kInvalidArgument);
    CHECK(api->last_error().message == "call-service: no service identifier");
    CHECK(api->call_service("P", "d", "reboot", "[]", nullptr) == Status::kInvalidArgument);
    CHECK(api->set_device_properties("P", "d\xFF", R"({"interval":5})") ==
          Status::kInvalidArgument);
    CHECK(api->attempts() == 0);
    // "" is no input: {} is sent (and here, with nothing listening, the request fails).
    CHECK(api->call_service("P", "d", "reboot", "", nullptr) == Status::kProvisionNetworkFailed);
  }
  SUBCASE("a call's output is the answer's data, or null") {
    RawServer with_data("200 OK", "application/json",
                        R"({"code":0,"msg":"succ","data":{"result":[1,2]}})");
    std::string output;
    auto api = make_client(loopback_options(with_data.url(), "userid/1", 1, 2000));
    REQUIRE(api->call_service("P", "d", "s", "", &output) == Status::kOk);
    CHECK(output == R"({"result":[1,2]})");
    RawServer without("200 OK", "application/json", R"({"code":0,"msg":"succ"})");
    api = make_client(loopback_options(without.url(), "userid/1", 1, 2000));
    REQUIRE(api->call_service("P", "d", "s", "", &output) == Status::kOk);
    CHECK(output == "null");
  }
  SUBCASE("a property list: entries without an identifier passed over; not a list refused") {
    RawServer server("200 OK", "application/json",
                     R"({"code":0,"data":[{"identifier":"t","value":{"a":1},"time":5},
                         {"value":3},7,{"identifier":"s"}]})");
    auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
    std::vector<onenet::provision::PropertyValue> values;
    REQUIRE(api->query_device_properties("P", "d", &values) == Status::kOk);
    REQUIRE(values.size() == 2);
    CHECK(values[0].identifier == "t");
    CHECK(values[0].value_json == R"({"a":1})");
    CHECK(values[0].time_ms == 5);
    CHECK(values[1].identifier == "s");
    CHECK(values[1].value_json == "null");
    CHECK(values[1].time_ms == 0);
    RawServer object("200 OK", "application/json", R"({"code":0,"data":{"t":1}})");
    api = make_client(loopback_options(object.url(), "userid/1", 1, 2000));
    CHECK(api->query_device_properties("P", "d", &values) == Status::kProvisionBadResponse);
    CHECK(values.size() == 2);  // nothing appended
  }
}

TEST_CASE("device calls: a success envelope without what the call needs is refused, and says so") {
  const auto answering = [](const char* body) {
    return std::make_unique<RawServer>("200 OK", "application/json", body);
  };
  DeviceInfo device;
  {
    auto server = answering(R"({"code":0,"msg":"succ","data":{"name":"d"}})");
    auto api = make_client(loopback_options(server->url(), "userid/1", 1, 2000));
    CHECK(api->create_device("P", "d", "", &device) == Status::kProvisionBadResponse);
    CHECK(api->last_error().message == "device/create: no data.sec_key in the answer");
  }
  {
    auto server = answering(R"({"code":0,"msg":"succ"})");
    auto api = make_client(loopback_options(server->url(), "userid/1", 1, 2000));
    CHECK(api->device_detail("P", "d", &device) == Status::kProvisionBadResponse);
    CHECK(api->last_error().message == "device/detail: no device in the answer");
  }
  {
    auto server = answering(R"({"code":0,"msg":"succ","data":{"list":7}})");
    auto api = make_client(loopback_options(server->url(), "userid/1", 1, 2000));
    std::vector<DeviceInfo> devices;
    CHECK(api->list_devices("P", &devices) == Status::kProvisionBadResponse);
    CHECK(api->last_error().message == "device/list: no data.list in the answer");
    CHECK(devices.empty());
  }
}

TEST_CASE(
    "desired values: arguments checked before sending, a set sent once, odd answers refused") {
  using onenet::provision::DesiredValue;
  SUBCASE("arguments") {
    auto api = make_client(loopback_options(
        "http://127.0.0.1:" + std::to_string(itest::free_port()), "userid/1", 1, 300));
    std::vector<DesiredValue> values;
    CHECK(api->set_desired_properties("P", "d", "{}") == Status::kInvalidArgument);
    CHECK(api->last_error().message == "set-device-desired-property: params: no property to set");
    CHECK(api->set_desired_properties("P", "d", "[1]") == Status::kInvalidArgument);
    CHECK(api->query_desired_properties("P", "d", {}, &values) == Status::kInvalidArgument);
    CHECK(api->last_error().message == "query-device-desired-property: no property named");
    CHECK(api->query_desired_properties("P", "d", {"interval", ""}, &values) ==
          Status::kInvalidArgument);
    CHECK(api->delete_desired_properties("P", "d", {"a\xFF"}) == Status::kInvalidArgument);
    CHECK(api->last_error().message ==
          "delete-device-desired-property: product id, device name and identifiers must be UTF-8");
    CHECK(api->attempts() == 0);
  }
  SUBCASE("a server that takes the request and never answers: a set once, the others again") {
    RawServer server(RawServer::Mode::kHold);
    auto api = make_client(loopback_options(server.url(), "userid/1", 3, 300));
    CHECK(api->set_desired_properties("P", "d", R"({"interval":5})") == Status::kProvisionTimeout);
    CHECK(server.accepted == 1);  // a second would move the version on again
    CHECK(api->query_desired_properties("P", "d", {"interval"}, nullptr) ==
          Status::kProvisionTimeout);
    CHECK(server.accepted == 4);
    CHECK(api->delete_desired_properties("P", "d", {"interval"}) == Status::kProvisionTimeout);
    CHECK(server.accepted == 7);
  }
  SUBCASE("answers") {
    const auto query = [](const char* body, std::vector<DesiredValue>* values) {
      RawServer server("200 OK", "application/json", body);
      auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
      return api->query_desired_properties("P", "d", {"a", "b"}, values);
    };
    std::vector<DesiredValue> values;
    REQUIRE(query(R"({"code":0,"data":{"a":{"value":[1,2],"version":4},"b":{"value":null}}})",
                  &values) == Status::kOk);
    REQUIRE(values.size() == 2);
    CHECK(values[0].identifier == "a");
    CHECK(values[0].value_json == "[1,2]");
    CHECK(values[0].version == 4);
    CHECK(values[1].value_json == "null");
    CHECK(values[1].version == 0);  // not given
    // None held: an empty object, or no data at all.
    CHECK(query(R"({"code":0,"data":{}})", &values) == Status::kOk);
    CHECK(query(R"({"code":0,"msg":"succ"})", &values) == Status::kOk);
    CHECK(values.size() == 2);
    // Not property/desired/get's shape: refused whole, nothing appended.
    CHECK(query(R"({"code":0,"data":[{"identifier":"a"}]})", &values) ==
          Status::kProvisionBadResponse);
    CHECK(query(R"({"code":0,"data":{"a":{"value":1},"b":5}})", &values) ==
          Status::kProvisionBadResponse);
    CHECK(query(R"({"code":0,"data":{"a":{"version":1}}})", &values) ==
          Status::kProvisionBadResponse);
    CHECK(values.size() == 2);
  }
}

TEST_CASE("property history: arguments checked before sending; answers read in both shapes") {
  using onenet::provision::HistoryQuery;
  using onenet::provision::PropertyRecord;
  HistoryQuery query;
  query.identifier = "t";
  query.start_ms = 1000;
  query.end_ms = 2000;
  SUBCASE("arguments") {
    auto api = make_client(loopback_options(
        "http://127.0.0.1:" + std::to_string(itest::free_port()), "userid/1", 1, 300));
    const auto refused = [&](HistoryQuery q, const char* problem) {
      CHECK(api->query_property_history("P", "d", q, nullptr) == Status::kInvalidArgument);
      CHECK(api->last_error().message == std::string("query-device-property-history: ") + problem);
    };
    HistoryQuery q = query;
    q.identifier.clear();
    refused(q, "no property identifier");
    q = query;
    q.start_ms = -1;
    refused(q, "times are ms since the epoch, not negative");
    q = query;
    q.start_ms = 2001;
    refused(q, "the start is after the end");
    q = query;
    q.limit = 0;
    refused(q, "limit: 1 to 100 records a page");
    q.limit = 101;
    refused(q, "limit: 1 to 100 records a page");
    CHECK(api->attempts() == 0);
  }
  SUBCASE("answers") {
    const auto history = [&](const char* body, std::vector<PropertyRecord>* records,
                             uint64_t* total) {
      RawServer server("200 OK", "application/json", body);
      auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
      return api->query_property_history("P", "d", query, records, total);
    };
    std::vector<PropertyRecord> records;
    uint64_t total = 0;
    // OneNET's shape; records without a time are passed over; values as given (text too).
    REQUIRE(history(R"({"code":0,"data":{"total":9,"list":[{"time":1500,"value":"78"},
                        {"value":1},5,{"time":1600,"value":{"a":[1]}},{"time":1700}]}})",
                    &records, &total) == Status::kOk);
    CHECK(total == 9);
    REQUIRE(records.size() == 3);
    CHECK(records[0].value_json == "\"78\"");
    CHECK(records[0].time_ms == 1500);
    CHECK(records[1].value_json == R"({"a":[1]})");
    CHECK(records[2].value_json == "null");
    // A bare list, and no total: the total is what came.
    records.clear();
    REQUIRE(history(R"({"code":0,"data":[{"time":1500,"value":2}]})", &records, &total) ==
            Status::kOk);
    CHECK(total == 1);
    CHECK(records.size() == 1);
    CHECK(history(R"({"code":0,"data":{"total":0}})", &records, &total) ==
          Status::kProvisionBadResponse);
    CHECK(history(R"({"code":0,"data":{"list":{"time":1}}})", &records, &total) ==
          Status::kProvisionBadResponse);
    CHECK(records.size() == 1);
  }
}

TEST_CASE("data streams: OneNET's answers read, odd ones refused whole; a command sent once") {
  using onenet::provision::DataStreamPoints;
  const auto points = [](const char* body, std::vector<DataStreamPoints>* out) {
    RawServer server("200 OK", "application/json", body);
    auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
    return api->query_datapoints("P", "d", {}, out);
  };
  std::vector<DataStreamPoints> streams;
  // As captured from OneNET; `at` alone (China Standard Time) gives the time too.
  REQUIRE(points(R"({"code":0,"msg":"succ","request_id":"x","data":{"count":2,"datastreams":[
      {"id":"heart_rate","datapoints":[{"at":"2026-09-30 21:38:13","at_timestamp":1790775493000,
                                        "value":89}]},
      {"id":"motion","datapoints":[{"at":"2026-10-01 23:30:23.000","value":"unknown"}]}]}})",
                 &streams) == Status::kOk);
  REQUIRE(streams.size() == 2);
  CHECK(streams[0].points[0].time_ms == 1790775493000);
  CHECK(streams[0].points[0].value_json == "89");
  CHECK(streams[1].points[0].time_ms == 1790868623000);
  CHECK(streams[1].points[0].value_json == "\"unknown\"");
  for (const char* body :
       {R"({"code":0,"data":{"count":0}})", R"({"code":0,"data":{"datastreams":[{"id":"a"}]}})",
        R"({"code":0,"data":{"datastreams":[{"datapoints":[]}]}})",
        R"({"code":0,"data":{"datastreams":[{"id":"a","datapoints":[{"value":1}]}]}})",
        R"({"code":0,"data":{"datastreams":[{"id":"a","datapoints":[{"at":"yesterday"}]}]}})"}) {
    CAPTURE(body);
    CHECK(points(body, &streams) == Status::kProvisionBadResponse);
  }
  CHECK(streams.size() == 2);  // nothing appended

  const auto command = [](const char* body, std::string* response) {
    RawServer server("200 OK", "application/json", body);
    auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
    return api->send_command("P", "d", "read", 1, response);
  };
  std::string response;
  REQUIRE(command(R"({"code":0,"data":{"cmd_uuid":"u","cmd_resp":"AP9vaw=="}})", &response) ==
          Status::kOk);
  CHECK(response == std::string("\x00\xffok", 4));
  CHECK(command(R"({"code":0,"data":{"cmd_uuid":"u"}})", &response) ==
        Status::kProvisionBadResponse);
  CHECK(command(R"({"code":0,"data":{"cmd_resp":"not base64!"}})", &response) ==
        Status::kProvisionBadResponse);
  CHECK(response.size() == 4);  // untouched

  RawServer holding(RawServer::Mode::kHold);
  auto api = make_client(loopback_options(holding.url(), "userid/1", 3, 300));
  CHECK(api->send_command("P", "d", "read", 1, &response) == Status::kProvisionTimeout);
  CHECK(holding.accepted == 1);  // the device may have acted: not sent again
  onenet::provision::DatapointQuery query;
  query.streams = {"a,b"};
  CHECK(api->query_datapoints("P", "d", query, nullptr) == Status::kInvalidArgument);
  query.streams = {};
  query.limit = 6001;
  CHECK(api->query_datapoints("P", "d", query, nullptr) == Status::kInvalidArgument);
  CHECK(holding.accepted == 1);
}

TEST_CASE("legacy MQTTS API: its envelope read both ways round; an image update sent once") {
  const auto registered = [](const char* body, DeviceInfo* out) {
    RawServer server("200 OK", "application/json", body);
    auto api = make_client(loopback_options(server.url(), "products/282932", 1, 2000));
    const Status s = api->register_device("mcu_id_43057127", "", "", out);
    return std::make_pair(s, api->last_error());
  };
  DeviceInfo d;
  // As captured from OneNET (community code keeps it): code_no "000000", pid a number.
  auto [status, error] = registered(R"({"request_id":"f55a5a37-36e4-43a6-905c-cc8f958437b0",
      "code":"onenet_common_success","code_no":"000000","message":null,
      "data":{"device_id":"589804481","name":"mcu_id_43057127","pid":282932,
              "key":"indu/peTFlsgQGL060Gp7GhJOn9DnuRecadrybv9/XY="}})",
                                    &d);
  REQUIRE(status == Status::kOk);
  CHECK(d.did == "589804481");
  CHECK(d.product_id == "282932");
  CHECK(d.name == "mcu_id_43057127");
  CHECK(d.key == "indu/peTFlsgQGL060Gp7GhJOn9DnuRecadrybv9/XY=");
  // The image page's example puts "000000" in code instead.
  std::tie(status, error) = registered(
      R"({"code":"000000","code_no":"onenet_common_success","data":{"device_id":"1","key":"k"}})",
      &d);
  CHECK(status == Status::kOk);
  // Its error table: 000002 is a bad token, the rest OneNET's error with its number and name.
  std::tie(status, error) = registered(
      R"({"code":"onenet_common_authFailed","code_no":"000002","message":"token expired"})", &d);
  CHECK(status == Status::kProvisionBadCredentials);
  CHECK(error.code == 2);
  CHECK(error.message == "onenet_common_authFailed: token expired");
  std::tie(status, error) =
      registered(R"({"code":"onenet_auth_prodNotFound","code_no":"001000","message":null})", &d);
  CHECK(status == Status::kProvisionApiError);
  CHECK(error.code == 1000);
  CHECK(error.message == "onenet_auth_prodNotFound");
  // Odd answers: a code_no that is no number, success without the device.
  for (const char* body : {R"({"code":"x","code_no":"ok"})",
                           R"({"code":"onenet_common_success","code_no":"000000","data":{}})",
                           R"({"code_no":"000000","data":{"device_id":"1"}})"}) {
    CAPTURE(body);
    CHECK(registered(body, &d).first == Status::kProvisionBadResponse);
  }

  const auto image = [](const char* body, std::string* out) {
    RawServer server("200 OK", "application/json", body);
    auto api = make_client(loopback_options(server.url(), "userid/1", 1, 2000));
    return api->update_device_image("5", R"({"color":"green"})", "", out);
  };
  std::string text;
  // The image page's answer.
  REQUIRE(image(R"({"request_id":"daa992aa","code":"000000","code_no":"onenet_common_success",
      "message":null,"data":{"state":{"desired":{"color":"green"},"reported":{"color":"red"}},
      "metadata":{"desired":{"color":{"timestamp":1565066884}}},"version":11,
      "timestamp":1565066884}})",
                &text) == Status::kOk);
  CHECK(text.find("\"version\":11") != std::string::npos);
  CHECK(image(R"({"code":"000000","data":{"version":1}})", &text) == Status::kProvisionBadResponse);
  CHECK(image(R"({"code":"onenet_image_jsonOutOfDepth","code_no":"002003"})", &text) ==
        Status::kProvisionApiError);

  // Registering is safe to repeat (a name it has answers with that device): retried. An image
  // update would count the version on twice: sent once.
  RawServer holding(RawServer::Mode::kHold);
  auto api = make_client(loopback_options(holding.url(), "products/1", 3, 300));
  CHECK(api->update_device_image("5", R"({"a":1})", "", nullptr) == Status::kProvisionTimeout);
  CHECK(holding.accepted == 1);
  CHECK(api->register_device("d1", "", "", nullptr) == Status::kProvisionTimeout);
  CHECK(holding.accepted == 4);
}
