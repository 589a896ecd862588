// onenet-cli pub / sub: raw MQTT against any broker, or OneNET with --product/--device/--key.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "onenet/auth/token.hpp"
#include "onenet/client/client.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace onenet_cli {
namespace {

using onenet::Status;
using onenet::client::State;

struct MqttOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  bool tls = false;
  std::string cafile;
  bool insecure = false;
  std::string client_id;
  std::string username;
  std::string password;
  std::string product;
  std::string device;
  std::string key;
  std::string topic;
  int qos = 0;
  bool retain = false;
  uint16_t keepalive = 60;
  std::string clean = "true";
  std::string message;
  bool message_given = false;  // -m "" is an empty message, given on purpose
  bool null_message = false;
  std::string file;
  uint32_t count = 1;
  uint32_t timeout_s = 30;
  bool count_given = false;
};

MqttOptions pub_options;
MqttOptions sub_options;

// The short names are mosquitto_pub's and mosquitto_sub's, so their users' habits carry over
// (-h stays help: the host is --host only).
void add_connection_options(CLI::App* cmd, MqttOptions& o) {
  cmd->add_option("--host", o.host, "Broker host")->default_val("127.0.0.1");
  cmd->add_option("-p,--port", o.port, "Broker port")->default_val(1883)->transform(decimal());
  cmd->add_flag("--tls", o.tls, "Use TLS (verifies the server; see --cafile)");
  cmd->add_option("--cafile", o.cafile, "CA certificate (PEM) to verify the server with");
  cmd->add_flag("--insecure", o.insecure, "With --tls: do NOT verify the server (testing only)");
  cmd->add_option("-i,--client-id", o.client_id, "Client identifier");
  cmd->add_option("-u,--username", o.username, "User name");
  cmd->add_option("-P,--password", o.password, "Password; or env ONENET_PASSWORD")
      ->envname("ONENET_PASSWORD");
  cmd->add_option("--product", o.product, "OneNET product id (with --device and --key)");
  cmd->add_option("--device", o.device, "OneNET device name");
  cmd->add_option("--key", o.key, "OneNET device key (Base64); or env ONENET_KEY")
      ->envname("ONENET_KEY");
  cmd->add_option("-t,--topic", o.topic, "Topic (pub) or topic filter (sub)")->required();
  cmd->add_option("-q,--qos", o.qos, "QoS 0, 1 or 2")->default_val(0)->check(CLI::Range(0, 2));
  cmd->add_option("-k,--keepalive", o.keepalive, "Keep-alive in seconds")
      ->default_val(60)
      ->transform(decimal());
  cmd->add_option("--clean", o.clean, "Clean session: true or false")
      ->default_val("true")
      ->check(CLI::IsMember({"true", "false"}));
  cmd->add_option("--timeout", o.timeout_s, "Give up after this many seconds")
      ->default_val(30)
      ->transform(decimal());
}

// The session as the CLI drives it: one thread, no automatic reconnect (a CLI reports failure).
class Session : public onenet::client::Handler {
 public:
  explicit Session(const MqttOptions& o) : options_(o) {}

  // `outbox_bytes`: room for the largest frame pub sends (the message, topic and header).
  int setup(size_t outbox_bytes = kMinOutboxBytes) {
    if (!options_.product.empty() ||
        !options_.device.empty()) {  // ONENET_KEY alone does not switch modes
      if (options_.product.empty() || options_.device.empty() || options_.key.empty()) {
        return bad("--product, --device and --key go together");
      }
      const std::string res = "products/" + options_.product + "/devices/" + options_.device;
      onenet::auth::TokenRequest request;
      request.resource = res;
      request.access_key = options_.key;
      request.expires_at = onenet::platform::unix_seconds() + 3600;
      char token[512];
      const auto n =
          onenet::auth::sign_token(request, onenet::platform::default_hmac(), token, sizeof token);
      if (!n) return bad(onenet::to_string(n.status()));
      token_.assign(token, n.value());
      client_id_ = options_.device;
      username_ = options_.product;
      onenet_ = true;
    } else {
      client_id_ = options_.client_id;
      username_ = options_.username;
      token_ = options_.password;
    }
    if (options_.tls) {
      onenet::platform::TlsOptions tls;
      tls.ca_file = options_.cafile;
      tls.insecure = options_.insecure;
      if (tls.ca_file.empty() && !tls.insecure)
        return bad("--tls needs --cafile (or --insecure for testing)");
      transport_ =
          std::make_unique<onenet::platform::TlsTransport>(options_.host, options_.port, tls);
    } else {
      transport_ = std::make_unique<onenet::platform::TcpTransport>(options_.host, options_.port);
    }
    // A CLI may take the heap: the outbox grows with the message pub sends, and sub takes
    // messages of any length in parts through its rx (on_message prints them as they come).
    rx_.resize(kRxBytes);
    tx_.resize(kTxBytes);
    outbox_.resize(std::max(outbox_bytes, kMinOutboxBytes));
    subscriptions_.resize(8192);
    onenet::client::Storage storage;
    storage.rx = onenet::MutableByteView(rx_.data(), rx_.size());
    storage.tx = onenet::MutableByteView(tx_.data(), tx_.size());
    storage.outbox = onenet::MutableByteView(outbox_.data(), outbox_.size());
    storage.inflight = inflight_;
    storage.inflight_capacity = kInflight;
    storage.inbound_qos2 = inbound_qos2_;
    storage.inbound_qos2_capacity = kInflight;
    storage.subscriptions = onenet::MutableByteView(subscriptions_.data(), subscriptions_.size());
    client_ = std::make_unique<onenet::client::Client>(
        *transport_, clock_, onenet::platform::system_random, storage, *this);
    onenet::client::Options options;
    options.profile =
        onenet_ ? onenet::client::Profile::kOneNet : onenet::client::Profile::kGeneric;
    options.connect.client_id = client_id_;
    options.connect.keep_alive_seconds = options_.keepalive;
    options.connect.clean_session = options_.clean == "true";
    options.connect.has_username = !username_.empty();
    options.connect.username = username_;
    options.connect.has_password = !token_.empty();
    options.connect.password = std::string_view(token_);
    options.auto_reconnect = false;
    options.large_messages_in_parts = true;
    const Status configured = client_->configure(options);
    if (configured != Status::kOk) return bad(onenet::to_string(configured));
    deadline_ms_ = options_.timeout_s == 0
                       ? UINT64_MAX  // 0: no time limit
                       : onenet::platform::monotonic_ms() + uint64_t{options_.timeout_s} * 1000;
    return 0;
  }

  // Polls until `done` or a failure; returns 0, or 1 after printing why.
  template <typename Done>
  int run_until(Done done) {
    while (!done()) {
      if (failed_) return fail(failure_ != Status::kOk ? failure_ : client_->last_error());
      if (onenet::platform::monotonic_ms() >= deadline_ms_) return fail(Status::kTransportTimeout);
      client_->poll(100);
    }
    return 0;
  }

  int connect() {
    if (client_->start() != Status::kOk) return fail(Status::kClientBusy);
    return run_until([&] { return client_->state() == State::kConnected; });
  }

  void on_state(State state, Status) override {
    if (state == State::kIdle || state == State::kBackoff) failed_ = true;
  }
  void on_delivered(uint16_t, Status result) override {
    ++delivered_;
    if (result != Status::kOk) fail_with(result);
  }
  void on_subscribed(std::string_view filter, Status result, onenet::codec::QoS granted) override {
    if (result != Status::kOk) {
      std::fprintf(stderr, "onenet-cli: subscription to %.*s refused\n",
                   static_cast<int>(filter.size()), filter.data());
      fail_with(result);
      return;
    }
    std::fprintf(stderr, "onenet-cli: subscribed to %.*s (granted QoS %d)\n",
                 static_cast<int>(filter.size()), filter.data(), static_cast<int>(granted));
    subscribed_ = true;
  }
  // One line per message, "topic payload", written part by part for a message longer than rx.
  void on_message(const onenet::client::Message& m) override {
    if (m.offset == 0) {
      std::fwrite(m.topic.data(), 1, m.topic.size(), stdout);
      std::fputc(' ', stdout);
    }
    std::fwrite(m.payload.data, 1, m.payload.size, stdout);
    if (!m.complete()) return;
    std::fputc('\n', stdout);
    std::fflush(stdout);
    ++received_;
  }
  void on_message_dropped(std::string_view topic, Status reason) override {
    std::fprintf(stderr, "onenet-cli: a message on %.*s was dropped: %s\n",
                 static_cast<int>(topic.size()), topic.data(), onenet::to_string(reason));
  }

  int bad(const char* why) {
    std::fprintf(stderr, "onenet-cli: %s\n", why);
    return kExitBadInput;
  }
  int fail(Status status) {
    std::fprintf(stderr, "onenet-cli: %s\n", onenet::to_string(status));
    return 1;
  }

  onenet::client::Client& client() { return *client_; }
  uint32_t delivered_ = 0;
  uint32_t received_ = 0;
  bool subscribed_ = false;
  bool failed_ = false;
  // Why, when the link did not fail (a refused subscription, a message reported lost):
  // Client::last_error() then still says "ok".
  Status failure_ = Status::kOk;
  void fail_with(Status status) {
    failed_ = true;
    if (failure_ == Status::kOk) failure_ = status;
  }

 private:
  const MqttOptions& options_;
  static constexpr size_t kRxBytes = 64 * 1024;
  static constexpr size_t kTxBytes = 64 * 1024;
  static constexpr size_t kMinOutboxBytes = 600 * 1024;
  static constexpr size_t kInflight = 64;
  onenet::platform::SystemClock clock_;
  std::unique_ptr<onenet::port::Transport> transport_;
  std::vector<uint8_t> rx_, tx_, outbox_, subscriptions_;
  onenet::client::InflightEntry inflight_[kInflight];
  uint16_t inbound_qos2_[kInflight] = {};
  std::unique_ptr<onenet::client::Client> client_;
  std::string client_id_;
  std::string username_;
  std::string token_;
  bool onenet_ = false;
  uint64_t deadline_ms_ = 0;
};

}  // namespace

CLI::App* add_pub_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("pub", "Publish messages to an MQTT broker (or OneNET)");
  add_connection_options(cmd, pub_options);
  cmd->add_option("-m,--message", pub_options.message, "Payload")->each([](const std::string&) {
    pub_options.message_given = true;
  });
  cmd->add_option("-f,--file", pub_options.file, "Read the payload from a file");
  cmd->add_flag("-n,--null", pub_options.null_message, "Send an empty message");
  cmd->add_flag("-r,--retain", pub_options.retain, "Retain the message");
  cmd->add_option("--count", pub_options.count, "Publish the message N times")
      ->default_val(1)
      ->transform(decimal());
  return cmd;
}

CLI::App* add_sub_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("sub", "Subscribe and print 'topic payload' lines");
  add_connection_options(cmd, sub_options);
  cmd->add_option("-C,--count", sub_options.count, "Exit after N messages")
      ->transform(decimal())
      ->each([](const std::string&) { sub_options.count_given = true; });
  cmd->get_option("--timeout")
      ->description("Give up after this many seconds (0: never)")
      ->default_val(0);
  return cmd;
}

int run_pub_command() {
  const MqttOptions& o = pub_options;
  std::string payload = o.message;
  // One source, as mosquitto_pub asks: a forgotten --message must not publish an empty message
  // (with --retain, that clears the topic's retained message).
  if (int{o.message_given} + int{!o.file.empty()} + int{o.null_message} != 1) {
    std::fprintf(stderr,
                 "onenet-cli: give one of --message, --file or --null (an empty message)\n");
    return kExitBadInput;
  }
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "onenet-cli: cannot read %s\n", o.file.c_str());
      return kExitBadInput;
    }
    std::ostringstream text;
    text << in.rdbuf();
    payload = text.str();
  }
  Session session(o);
  // The frame: the payload, the topic and its length, a packet id, and a fixed header of at
  // most 5 bytes.
  if (const int r = session.setup(payload.size() + o.topic.size() + 9); r != 0) return r;
  if (const int r = session.connect(); r != 0) return r;
  const auto qos = static_cast<onenet::codec::QoS>(o.qos);
  uint32_t expected = 0;
  for (uint32_t i = 0; i < o.count; ++i) {
    Status status;
    const int waited = session.run_until([&] {
      status = session.client().publish(o.topic, std::string_view(payload), qos, o.retain).status();
      return status != Status::kClientBusy && status != Status::kClientInflightFull;
    });
    if (waited != 0) return waited;
    if (status != Status::kOk) return session.fail(status);
    if (qos != onenet::codec::QoS::kAtMostOnce) ++expected;
  }
  if (const int r = session.run_until([&] { return session.delivered_ >= expected; }); r != 0)
    return r;
  (void)session.client().disconnect(2000);
  return 0;
}

int run_sub_command() {
  const MqttOptions& o = sub_options;
  Session session(o);
  if (const int r = session.setup(); r != 0) return r;
  if (const int r = session.connect(); r != 0) return r;
  const onenet::codec::Subscription sub{o.topic, static_cast<onenet::codec::QoS>(o.qos)};
  if (const Status s = session.client().subscribe(&sub, 1); s != Status::kOk)
    return session.fail(s);
  const uint32_t wanted = o.count_given ? o.count : UINT32_MAX;
  const int r = session.run_until([&] { return session.received_ >= wanted; });
  (void)session.client().disconnect(2000);
  return r;
}

}  // namespace onenet_cli
