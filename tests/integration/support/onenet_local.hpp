// onenet-local for tests: started on free ports in a private data directory, described by its
// JSON line, stopped by pid (SIGTERM) with a check that its broker is gone too.
#pragma once

#include <cstdio>

#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "onenet/auth/token.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "process.hpp"

namespace itest {

class OnenetLocal {
 public:
  /// `extra`: more command-line flags (--seed-device, --tsl, --mqtts-port 0...).
  explicit OnenetLocal(std::vector<std::string> extra = {}, const std::string& data_dir = {})
      : extra_(std::move(extra)), data_dir_(data_dir.empty() ? owned_dir_.path() : data_dir) {}
  ~OnenetLocal() { stop(); }

  bool start() {
    std::vector<std::string> argv = {ONENET_LOCAL_PATH, "--data-dir", data_dir_, "--mqtt-port", "0",
                                     "--http-port",     "0"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    // The tests' devices log in once per request (mosquitto_rr: a connection each), far beyond
    // OneNET's 10 logins in 5 s; the login limit's own tests set it.
    if (std::find(extra_.begin(), extra_.end(), "--login-limit") == extra_.end())
      argv.insert(argv.end(), {"--login-limit", "0"});
    process_ = Process::start(argv);
    if (!process_) return false;
    std::string line;
    if (!process_->read_line(&line, 20000)) return false;
    info = nlohmann::json::parse(line, nullptr, false);
    return info.is_object();
  }

  /// SIGTERM and wait: true when onenet-local exited 0 and its broker no longer exists.
  bool stop() {
    if (!process_) return true;
    // Not an object when start() failed; value() on it would abort (JSON_NOEXCEPTION).
    const pid_t broker = info.is_object() ? info.value("broker_pid", -1) : -1;
    process_->signal(SIGTERM);
    const int status = process_->wait(20000);
    process_.reset();
    const bool broker_gone = broker <= 0 || (::kill(broker, 0) != 0 && errno == ESRCH);
    // Say why a stop failed: the test only sees false.
    if (status != 0)
      std::fprintf(stderr, "onenet-local: exit status %d (-1: killed after 20 s)\n", status);
    if (!broker_gone)
      std::fprintf(stderr, "onenet-local: its mosquitto (pid %d) is still running\n", broker);
    return status == 0 && broker_gone;
  }

  uint16_t port() const { return info["mqtt"]["port"].get<uint16_t>(); }
  std::string http() const { return info["http"].get<std::string>(); }
  /// The HTTP API's port (of http(), "http://127.0.0.1:PORT"), for a raw transport to it.
  uint16_t http_port() const { return port_of(http()); }
  /// With --https-port: the API over TLS ("https://127.0.0.1:PORT") and its port.
  std::string https() const { return info["https"].get<std::string>(); }
  uint16_t https_port() const { return port_of(https()); }
  /// The CA onenet-local minted (its TLS listeners' certificates are signed by it).
  std::string ca_file() const { return info["ca"].get<std::string>(); }
  std::string device_key(size_t i = 0) const {
    return info["devices"][i]["key"].get<std::string>();
  }
  /// The access key of product `id` (its products entry); "" when it has none.
  std::string product_key(const std::string& id) const {
    for (const nlohmann::json& p : info["products"]) {
      if (p["id"] == id) return p["access_key"].get<std::string>();
    }
    return {};
  }
  std::string events_path() const { return data_dir_ + "/events.jsonl"; }
  const std::string& data_dir() const { return data_dir_; }

  /// The event log, one JSON object per line.
  std::vector<nlohmann::json> events() const;

  /// A device's login token (version 2018-10-31) signed with the key of the `key_index`-th
  /// seeded device.
  std::string device_token(const std::string& product, const std::string& device,
                           size_t key_index = 0) const {
    return token("products/" + product + "/devices/" + device, device_key(key_index));
  }

  /// A user-level token for the HTTP API.
  std::string user_token() const {
    return token("userid/" + info["user"]["id"].get<std::string>(),
                 info["user"]["access_key"].get<std::string>(), "2022-05-01");
  }

  /// curl: METHOD path [JSON body] with the authorization header; returns the parsed answer.
  nlohmann::json curl(const std::string& method, const std::string& path,
                      const std::string& body = {},
                      const std::string& authorization = "user") const;

  /// mosquitto_rr as a device (its token signed with the `key_index`-th seeded key): one
  /// connection that subscribes `$sys/{product}/{device}/{answer_topic}` (no wildcard), publishes
  /// `payload` on `$sys/{product}/{device}/{topic}` and returns the first answer, parsed (a
  /// discarded value when it is not JSON). Fails the test when no answer comes within 10 s.
  nlohmann::json exchange(const std::string& product, const std::string& device, size_t key_index,
                          const std::string& topic, const std::string& answer_topic,
                          const std::string& payload) const;

  nlohmann::json info;

 private:
  static uint16_t port_of(const std::string& url) {  // "scheme://host:PORT"
    return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  }

  std::vector<std::string> extra_;
  TempDir owned_dir_;
  std::string data_dir_;
  std::unique_ptr<Process> process_;

 public:
  /// Signs with sdk/auth; `ttl` may be negative for an expired token.
  static std::string token(const std::string& res, const std::string& key,
                           const std::string& version = "2018-10-31", int64_t ttl = 3600) {
    onenet::auth::TokenRequest r;
    r.resource = res;
    r.access_key = key;
    r.version = version;
    r.expires_at =
        static_cast<uint64_t>(static_cast<int64_t>(onenet::platform::unix_seconds()) + ttl);
    char out[512];
    const auto n = onenet::auth::sign_token(r, onenet::platform::default_hmac(), out, sizeof out);
    REQUIRE(n.ok());
    return std::string(out, n.value());
  }
};

}  // namespace itest
