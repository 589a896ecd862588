// Our client on a real transport, with everything it reports recorded, for integration tests.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "onenet/client/client.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "poll_until.hpp"

namespace itest {

struct Sizes {
  size_t rx = 16 * 1024;
  size_t tx = 16 * 1024;
  size_t outbox = 128 * 1024;
  size_t inflight = 256;
  size_t subscription_bytes = 1024;
};

class LiveClient : public onenet::client::Handler {
 public:
  LiveClient(std::unique_ptr<onenet::platform::NativeTransport> transport, std::string client_id,
             Sizes sizes = {})
      : transport_(std::move(transport)), client_id_(std::move(client_id)) {
    rx_.resize(sizes.rx);
    tx_.resize(sizes.tx);
    outbox_.resize(sizes.outbox);
    inflight_.resize(sizes.inflight);
    inbound_.resize(16);
    subscriptions_.resize(sizes.subscription_bytes);
    onenet::client::Storage storage{
        onenet::MutableByteView(rx_.data(), rx_.size()),
        onenet::MutableByteView(tx_.data(), tx_.size()),
        onenet::MutableByteView(outbox_.data(), outbox_.size()),
        inflight_.data(),
        inflight_.size(),
        inbound_.data(),
        inbound_.size(),
        onenet::MutableByteView(subscriptions_.data(), subscriptions_.size())};
    client_ = std::make_unique<onenet::client::Client>(
        *transport_, clock_, onenet::platform::system_random, storage, *this);
    options.connect.client_id = client_id_;
    options.connect.keep_alive_seconds = 30;
    options.connect_timeout_ms = 5000;
    options.backoff_initial_ms = 100;
    options.backoff_max_ms = 1000;
  }

  static std::unique_ptr<LiveClient> tcp(uint16_t port, const std::string& id, Sizes sizes = {}) {
    return std::make_unique<LiveClient>(
        std::make_unique<onenet::platform::TcpTransport>("127.0.0.1", port), id, sizes);
  }

  /// A OneNET device's login over TCP: client id `device`, user name `product`, password
  /// `token` (not yet connected).
  static std::unique_ptr<LiveClient> onenet_device(uint16_t port, const std::string& product,
                                                   const std::string& device,
                                                   const std::string& token) {
    auto client = tcp(port, device);
    client->log_in_as(product, token);
    return client;
  }

  /// CONNECT with a user name and password (kept here: the options only point at them).
  void log_in_as(std::string username, std::string password) {
    username_ = std::move(username);
    password_ = std::move(password);
    options.connect.has_username = true;
    options.connect.username = username_;
    options.connect.has_password = true;
    options.connect.password = std::string_view(password_);
  }

  onenet::Status connect() {
    const onenet::Status configured = client_->configure(options);
    if (configured != onenet::Status::kOk) return configured;
    return client_->start();
  }

  /// Polls until `done` holds; false after `timeout_ms`.
  bool poll_until(const std::function<bool()>& done, int timeout_ms = 20000) {
    return itest::poll_until([&] { client_->poll(10); }, done, timeout_ms);
  }

  bool connected() const { return client_->state() == onenet::client::State::kConnected; }

  onenet::client::Client& client() { return *client_; }
  onenet::platform::NativeTransport& transport() { return *transport_; }

  void on_state(onenet::client::State state, onenet::Status reason) override {
    states.push_back(state);
    reasons.push_back(reason);
    if (state == onenet::client::State::kConnected) ++connects;
  }
  void on_message(const onenet::client::Message& m) override {
    // Parts (Options::large_messages_in_parts) are put together: a part at offset 0 starts a
    // message over, as after a link lost midway.
    if (m.offset == 0) assembling_.clear();
    assembling_.append(m.payload.as_text());
    if (!m.complete()) {
      ++parts;
      return;
    }
    if (m.offset > 0) ++parts;
    messages.push_back(std::move(assembling_));
    assembling_.clear();
    topics.emplace_back(m.topic);
    retained.push_back(m.retain);
  }
  void on_message_dropped(std::string_view topic, onenet::Status) override {
    dropped.emplace_back(topic);
  }
  void on_delivered(uint16_t, onenet::Status result) override {
    if (result == onenet::Status::kOk) ++delivered;
  }
  void on_subscribed(std::string_view, onenet::Status result, onenet::codec::QoS) override {
    if (result == onenet::Status::kOk) ++subscribed;
  }

  onenet::client::Options options;
  std::vector<onenet::client::State> states;
  std::vector<onenet::Status> reasons;
  std::vector<std::string> messages;
  std::vector<std::string> topics;
  std::vector<bool> retained;
  std::vector<std::string> dropped;  // topics of messages longer than rx
  size_t parts = 0;                  // message parts received (large_messages_in_parts)
  std::string assembling_;           // the parts so far of a message in parts
  size_t delivered = 0;
  size_t subscribed = 0;
  size_t connects = 0;

 private:
  std::unique_ptr<onenet::platform::NativeTransport> transport_;
  std::string client_id_;
  std::string username_, password_;  // see log_in_as
  onenet::platform::SystemClock clock_;
  std::vector<uint8_t> rx_, tx_, outbox_;
  std::vector<onenet::client::InflightEntry> inflight_;
  std::vector<uint16_t> inbound_;
  std::vector<uint8_t> subscriptions_;
  std::unique_ptr<onenet::client::Client> client_;
};

}  // namespace itest
