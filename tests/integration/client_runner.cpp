// The Linux runner: any thread may publish; the owner thread does the I/O.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"
#include "onenet/platform/runner.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using onenet::Status;
using onenet::codec::QoS;

namespace {

// Counts deliveries; runs on the runner's owner thread, read from the test thread.
class CountingHandler : public onenet::client::Handler {
 public:
  void on_state(onenet::client::State state, Status) override {
    if (state == onenet::client::State::kConnected) connected = true;
  }
  void on_delivered(uint16_t, Status result) override {
    if (result != Status::kOk) return;
    std::lock_guard<std::mutex> lock(mutex);
    ++delivered;
    changed.notify_all();
  }
  bool wait_delivered(int count) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), [&] { return delivered >= count; });
  }
  std::atomic<bool> connected{false};
  std::mutex mutex;
  std::condition_variable changed;
  int delivered = 0;
};

}  // namespace

TEST_CASE("four threads publish 2,000 QoS 1 messages through one runner; all arrive") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto receiver = LiveClient::tcp(broker.port(), "runner-receiver");
  REQUIRE(receiver->connect() == Status::kOk);
  REQUIRE(receiver->poll_until([&] { return receiver->connected(); }));
  const onenet::codec::Subscription sub{"threads/#", QoS::kAtLeastOnce};
  REQUIRE(receiver->client().subscribe(&sub, 1) == Status::kOk);
  REQUIRE(receiver->poll_until([&] { return receiver->subscribed == 1; }));

  onenet::platform::TcpTransport transport("127.0.0.1", broker.port());
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<8192, 8192, 16384, 32, 1024>>();
  CountingHandler handler;
  onenet::client::Client client(transport, clock, onenet::platform::system_random, storage->view(),
                                handler);
  onenet::client::Options options;
  options.connect.client_id = "runner-publisher";
  REQUIRE(client.configure(options) == Status::kOk);
  onenet::platform::Runner runner(client, transport);
  REQUIRE(runner.start() == Status::kOk);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto future =
            runner.publish("threads/" + std::to_string(t),
                           std::to_string(t) + ":" + std::to_string(i), QoS::kAtLeastOnce);
        // QoS 1 before CONNACK is stored and sent on connect, so this never needs a retry.
        if (future.get().ok()) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(accepted == kThreads * kPerThread);

  std::set<std::string> received;
  REQUIRE(receiver->poll_until(
      [&] {
        for (const auto& m : receiver->messages) received.insert(m);
        receiver->messages.clear();
        return received.size() == kThreads * kPerThread;
      },
      30000));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i)
      CHECK(received.count(std::to_string(t) + ":" + std::to_string(i)) == 1);
  }
  CHECK(handler.wait_delivered(kThreads * kPerThread));
  runner.stop();
}

TEST_CASE("the OneNET CA shipped in platform/certs loads, and does not vouch for another server") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  onenet::platform::TlsOptions tls;
  tls.ca_file = ONENET_SOURCE_DIR "/platform/certs/onenet-mqtts-ca.pem";
  onenet::platform::TlsTransport transport("127.0.0.1", broker.tls_port(), tls);
  CHECK(transport.open(5000) == Status::kTlsVerifyFailed);  // loaded (not kTlsCaLoadFailed)

  std::string output;
  REQUIRE(itest::run({"openssl", "x509", "-in", tls.ca_file, "-noout", "-fingerprint", "-sha256"},
                     10000, &output) == 0);
  // onenet-protocol.md 2.5: OneNET MQTTS root, SHA-256 fingerprint.
  CHECK(output.find("7D:E9:BC:4C:1A:ED:01:34:46:67:64:56:78:D4:49:74:12:10:B1:70:49:48:98:38:BF:63:"
                    "79:53:B3:E9:01:17") != std::string::npos);
}
