// The Linux runner: any thread may publish; the owner thread does the I/O.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"
#include "onenet/platform/runner.hpp"
#include "onenet/platform/system.hpp"
#include "silent_listener.hpp"

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

// A transport over one end of a socketpair whose bytes are recorded, not written. Sends are
// refused (0: try later, as from a full socket) while `refusals` lasts. Its descriptor is always
// writable and readable only when inject() has queued input, so a waiter that polls it for
// input alone sleeps while bytes wait to be sent.
class SocketpairTransport : public onenet::platform::NativeTransport {
 public:
  SocketpairTransport() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_) == 0);
  }
  ~SocketpairTransport() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Status open(uint32_t) override { return Status::kOk; }
  int32_t send(const uint8_t* data, size_t size) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (refusals > 0) {
      --refusals;
      return 0;
    }
    sent_.append(reinterpret_cast<const char*>(data), size);
    changed_.notify_all();
    return static_cast<int32_t>(size);
  }
  int32_t recv(uint8_t* data, size_t size) override {
    std::lock_guard<std::mutex> lock(mutex_);
    uint8_t wake[16];
    while (::read(fds_[0], wake, sizeof wake) > 0) {
    }
    const size_t n = std::min(size, input_.size());
    std::copy(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(n), data);
    input_.erase(0, n);
    return static_cast<int32_t>(n);
  }
  Status wait(uint32_t, bool) override { return Status::kOk; }
  void close() override {}
  int native_handle() const override { return fds_[0]; }

  void inject(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    input_ += bytes;
    (void)!::write(fds_[1], "x", 1);
  }
  // Waits (bounded) until the bytes sent so far contain `text`.
  bool wait_sent(const std::string& text) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20),
                             [&] { return sent_.find(text) != std::string::npos; });
  }
  void refuse(int sends) {
    std::lock_guard<std::mutex> lock(mutex_);
    refusals = sends;
  }

 private:
  int fds_[2] = {-1, -1};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string sent_;
  std::string input_;
  int refusals = 0;
};

// Gathers the parts of one message; runs on the runner's thread, read from the test thread.
class GatheringHandler : public onenet::client::Handler {
 public:
  void on_state(onenet::client::State state, Status) override {
    std::lock_guard<std::mutex> lock(mutex);
    connected = state == onenet::client::State::kConnected;
    changed.notify_all();
  }
  void on_subscribed(std::string_view, Status result, QoS) override {
    std::lock_guard<std::mutex> lock(mutex);
    subscribed = result == Status::kOk;
    changed.notify_all();
  }
  void on_message(const onenet::client::Message& m) override {
    std::lock_guard<std::mutex> lock(mutex);
    received += m.payload.size;
    if (m.complete()) whole = m.total_size;
    changed.notify_all();
  }
  template <typename Condition>
  bool wait_for(Condition condition) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20), condition);
  }
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false;
  bool subscribed = false;
  size_t received = 0;
  size_t whole = 0;
};

// A client on `transport` and its runner, started: storage of the given sizes, a handler of the
// given type, options from `options` (the client id set here).
template <typename Handler, typename Storage>
struct StartedRunner {
  StartedRunner(onenet::platform::NativeTransport& transport, const char* client_id,
                onenet::client::Options options = {})
      : client(transport, clock, onenet::platform::system_random, storage->view(), handler),
        runner(client, transport) {
    options.connect.client_id = client_id;
    REQUIRE(client.configure(options) == Status::kOk);
    REQUIRE(runner.start() == Status::kOk);
  }
  onenet::platform::SystemClock clock;
  std::unique_ptr<Storage> storage = std::make_unique<Storage>();
  Handler handler;
  onenet::client::Client client;
  onenet::platform::Runner runner;
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
  StartedRunner<CountingHandler, onenet::client::StaticStorage<8192, 8192, 16384, 32, 1024>> rig(
      transport, "runner-publisher");
  onenet::platform::Runner& runner = rig.runner;

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
  CHECK(rig.handler.wait_delivered(kThreads * kPerThread));
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

TEST_CASE("a runner wakes for a writable socket while bytes wait to be sent") {
  SocketpairTransport transport;
  onenet::client::Options options;
  options.connect.keep_alive_seconds = 1000;  // no timer wakes the runner during the test
  StartedRunner<GatheringHandler, onenet::client::StaticStorage<512, 512, 1024, 4, 128>> rig(
      transport, "pollout", options);
  GatheringHandler& handler = rig.handler;
  onenet::platform::Runner& runner = rig.runner;
  REQUIRE(transport.wait_sent("MQTT"));                  // CONNECT
  transport.inject(std::string("\x20\x02\x00\x00", 4));  // CONNACK
  REQUIRE(handler.wait_for([&] { return handler.connected; }));
  REQUIRE(runner.publish("probe", "first", QoS::kAtMostOnce).get().ok());
  REQUIRE(transport.wait_sent("first"));
  // The socket is full for a while: more refusals than one round of the runner makes.
  transport.refuse(5);
  REQUIRE(runner.publish("probe", "second", QoS::kAtMostOnce).get().ok());
  CHECK(transport.wait_sent("second"));
  runner.stop();
}

TEST_CASE("a runner over TLS reads what the TLS layer holds before it sleeps") {
  Mosquitto broker({.tls = true});
  REQUIRE(broker.start());
  onenet::platform::TlsOptions tls;
  tls.ca_file = broker.ca_file();
#if !defined(ONENET_HAVE_OPENSSL_TLS)
  tls.server_name = "localhost";  // mbedTLS 2.28 matches DNS names only
#endif
  onenet::platform::TlsTransport transport("127.0.0.1", broker.tls_port(), tls);
  onenet::client::Options options;
  options.connect.keep_alive_seconds = 1000;
  options.large_messages_in_parts = true;
  // rx far smaller than the message: one read round (64 reads) takes 8 KB of a 12 KB record,
  // and the rest waits decrypted inside the TLS layer, unseen by the socket.
  StartedRunner<GatheringHandler, onenet::client::StaticStorage<128, 256, 256, 2, 128>> rig(
      transport, "tls-runner", options);
  GatheringHandler& handler = rig.handler;
  onenet::platform::Runner& runner = rig.runner;
  REQUIRE(runner.subscribe({{"tls/big", QoS::kAtMostOnce}}).get() == Status::kOk);
  REQUIRE(handler.wait_for([&] { return handler.subscribed; }));

  auto publisher = LiveClient::tcp(broker.port(), "tls-publisher");
  REQUIRE(publisher->connect() == Status::kOk);
  REQUIRE(publisher->poll_until([&] { return publisher->connected(); }));
  const std::string payload(12000, 'p');
  REQUIRE(publisher->client().publish("tls/big", std::string_view(payload), QoS::kAtMostOnce).ok());
  REQUIRE(publisher->poll_until([&] { return !publisher->client().has_unsent_bytes(); }));
  CHECK(handler.wait_for([&] { return handler.whole == payload.size(); }));
  CHECK(handler.received == payload.size());
  runner.stop();
}

// A client configured for `broker` and its runner, not started (the test starts it): one QoS 1
// message in flight at most.
template <typename Handler>
struct UnstartedRunner {
  UnstartedRunner(const Mosquitto& broker, const char* client_id)
      : transport("127.0.0.1", broker.port()),
        client(transport, clock, onenet::platform::system_random, storage->view(), handler),
        runner(client, transport) {
    onenet::client::Options options;
    options.connect.client_id = client_id;
    REQUIRE(client.configure(options) == Status::kOk);
  }
  onenet::platform::TcpTransport transport;
  onenet::platform::SystemClock clock;
  std::unique_ptr<onenet::client::StaticStorage<512, 512, 1024, 1, 128>> storage =
      std::make_unique<onenet::client::StaticStorage<512, 512, 1024, 1, 128>>();
  Handler handler;
  onenet::client::Client client;
  onenet::platform::Runner runner;
};

TEST_CASE("a runner that is not running, or stops first, completes every future: not connected") {
  Mosquitto broker;
  REQUIRE(broker.start());
  UnstartedRunner<GatheringHandler> rig(broker, "runner-cancel");
  GatheringHandler& handler = rig.handler;
  onenet::platform::Runner& runner = rig.runner;

  // Not started: nothing would ever run the work.
  auto early = runner.publish("cancel/t", "x", QoS::kAtLeastOnce);
  REQUIRE(early.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(early.get().status() == Status::kClientNotConnected);
  CHECK(runner.subscribe({{"cancel/#", QoS::kAtMostOnce}}).get() == Status::kClientNotConnected);

  REQUIRE(runner.start() == Status::kOk);
  REQUIRE(handler.wait_for([&] { return handler.connected; }));
  broker.freeze();  // no PUBACK: the one in-flight slot stays taken
  REQUIRE(runner.publish("cancel/t", "first", QoS::kAtLeastOnce).get().ok());
  auto waiting = runner.publish("cancel/t", "second", QoS::kAtLeastOnce);  // in the queue
  runner.stop();
  broker.thaw();
  REQUIRE(waiting.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(waiting.get().status() == Status::kClientNotConnected);
  auto late = runner.publish("cancel/t", "third", QoS::kAtMostOnce);
  REQUIRE(late.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(late.get().status() == Status::kClientNotConnected);
}

TEST_CASE("a handler callback may stop its runner: the owner thread disconnects and ends") {
  // Stops the runner from the owner thread once connected; records the end of the session.
  struct StoppingHandler : onenet::client::Handler {
    void on_state(onenet::client::State state, Status) override {
      if (state == onenet::client::State::kConnected) runner->stop();
      if (state == onenet::client::State::kIdle) idle.set_value();
    }
    onenet::platform::Runner* runner = nullptr;
    std::promise<void> idle;
  };
  Mosquitto broker;
  REQUIRE(broker.start());
  UnstartedRunner<StoppingHandler> rig(broker, "runner-self-stop");
  onenet::platform::Runner& runner = rig.runner;
  rig.handler.runner = &runner;
  std::future<void> idle = rig.handler.idle.get_future();
  REQUIRE(runner.start() == Status::kOk);
  REQUIRE(idle.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  // Stopped: work is refused at once, and the owner thread is joined here.
  CHECK(runner.publish("t", "x", QoS::kAtMostOnce).get().status() == Status::kClientNotConnected);
  runner.stop();
  CHECK(rig.client.state() == onenet::client::State::kIdle);
}

namespace {

// Tells the test thread when the client is about to open its transport.
struct OpeningHandler : onenet::client::Handler {
  void before_connect(onenet::codec::Connect&) override {
    if (!told) opening.set_value();
    told = true;
  }
  bool told = false;
  std::promise<void> opening;
};

// A client over `transport` on a runner, connect timeout 60 s, started.
struct OpeningRig {
  explicit OpeningRig(onenet::platform::NativeTransport& transport)
      : client(transport, clock, onenet::platform::system_random, storage->view(), handler),
        runner(client, transport) {
    onenet::client::Options options;
    options.connect.client_id = "cancelled";
    options.connect_timeout_ms = 60000;
    REQUIRE(client.configure(options) == Status::kOk);
    opening = handler.opening.get_future();
    REQUIRE(runner.start() == Status::kOk);
  }
  onenet::platform::SystemClock clock;
  std::unique_ptr<onenet::client::StaticStorage<512, 512, 1024, 1, 128>> storage =
      std::make_unique<onenet::client::StaticStorage<512, 512, 1024, 1, 128>>();
  OpeningHandler handler;
  std::future<void> opening;
  onenet::client::Client client;
  onenet::platform::Runner runner;
};

}  // namespace

TEST_CASE("a runner's stop() cancels a TCP connect to a broker that never answers") {
  itest::SilentListener listener(true);
  onenet::platform::TcpTransport transport("127.0.0.1", listener.port());
  OpeningRig rig(transport);
  REQUIRE(rig.opening.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  // Without the cancel this waits out the 60-s connect timeout, and the error is a timeout.
  rig.runner.stop();
  CHECK(rig.client.last_error() == Status::kTransportCancelled);
  CHECK(rig.client.state() == onenet::client::State::kIdle);
}

TEST_CASE("a runner's stop() cancels a TLS handshake with a server that never answers") {
  itest::SilentListener listener(false);
  onenet::platform::TlsOptions tls;
  tls.ca_file = ONENET_SOURCE_DIR "/platform/certs/onenet-mqtts-ca.pem";
  onenet::platform::TlsTransport transport("127.0.0.1", listener.port(), tls);
  OpeningRig rig(transport);
  REQUIRE(listener.accept_and_read_hello());
  rig.runner.stop();
  CHECK(rig.client.last_error() == Status::kTransportCancelled);
  CHECK(rig.client.state() == onenet::client::State::kIdle);
}
