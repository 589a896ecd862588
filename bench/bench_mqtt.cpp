// Our MQTT client beside libmosquitto and Eclipse Paho C (MQTTAsync), driven the same way against
// one mosquitto on loopback, in one run:
//   throughput  N messages from one publisher to one subscriber (same library at both ends),
//               QoS 0 and 1, 64 B and 4 KB payloads; each library publishes as fast as its API
//               accepts, with at most 20 QoS 1 messages in flight (ours: 20 in-flight slots;
//               libmosquitto: MOSQ_OPT_SEND_MAXIMUM 20; Paho: a window of 20 kept by the
//               publisher); timed from the first publish
//               to the last message received;
//   latency     publish-to-receive round trip at QoS 1 through the broker, one at a time;
//   memory      resident and heap growth per client, 1,000 clients in one process: connected
//               and subscribed to a topic of its own, then each also holding one QoS 1 message
//               (published on that topic) whose PUBACK it has not read; each then receives it;
//   tls         TLS connection set-ups (connect, CONNACK, DISCONNECT) per second.
// Prints one JSON object per measurement on stdout (scripts/bench.sh makes the table).
// Usage: bench_mqtt [all|throughput|latency|memory|tls] [SCALE] [LIBRARY (all but "all")]
// SCALE multiplies message counts.
#include <MQTTAsync.h>
#include <malloc.h>
#include <mosquitto.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mosquitto_broker.hpp"
#include "onenet/client/client.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr unsigned kInflightWindow = 20;  // QoS 1 messages in flight, every library
constexpr const char* kTopic = "bench/throughput";

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_mqtt: %s\n", what.c_str());
  std::exit(1);
}

// Counts messages on the subscriber side; the main thread waits on it. Only every 1,024th
// message and the last wake the waiter: a wake-up per message would cost every library a
// context switch per message (measured: one futex call per message).
struct Receipts {
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<size_t> count{0};
  std::atomic<Clock::rep> last_tick{0};
  size_t expected = SIZE_MAX;
  Clock::time_point last() const { return Clock::time_point(Clock::duration(last_tick.load())); }
  void add() {
    const size_t now_count = ++count;
    last_tick = Clock::now().time_since_epoch().count();
    if (now_count == expected || now_count % 1024 == 0) {
      std::lock_guard<std::mutex> lock(mutex);
      changed.notify_all();
    }
  }
  // Waits until `expected` arrived or nothing arrived for `idle`; returns the count.
  size_t wait_for(size_t expected_count, std::chrono::milliseconds idle) {
    std::unique_lock<std::mutex> lock(mutex);
    size_t seen = count;
    while (count < expected_count) {
      changed.wait_for(lock, idle, [&] { return count >= expected_count; });
      if (count == seen) break;  // no progress for `idle`
      seen = count;
    }
    return count;
  }
};

// Waits (up to 20 s) for a library whose own threads do the work to reach `done`.
bool wait_for_library(const std::function<bool()>& done) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

struct Throughput {
  size_t received = 0;
  double seconds = 0;
};

// ---- ours -------------------------------------------------------------------------------------

struct OurClient : onenet::client::Handler {
  OurClient(uint16_t port, const std::string& id, size_t rx, size_t tx, size_t outbox,
            size_t inflight, onenet::platform::TlsOptions* tls = nullptr,
            size_t subscription_bytes = 256)
      : rx_(rx), tx_(tx), outbox_(outbox), inflight_(inflight), subs_(subscription_bytes) {
    if (tls) {
      transport = std::make_unique<onenet::platform::TlsTransport>("127.0.0.1", port, *tls);
    } else {
      transport = std::make_unique<onenet::platform::TcpTransport>("127.0.0.1", port);
    }
    onenet::client::Storage s;
    s.rx = onenet::MutableByteView(rx_.data(), rx_.size());
    s.tx = onenet::MutableByteView(tx_.data(), tx_.size());
    s.outbox = onenet::MutableByteView(outbox_.data(), outbox_.size());
    s.inflight = inflight_.data();
    s.inflight_capacity = inflight_.size();
    s.subscriptions = onenet::MutableByteView(subs_.data(), subs_.size());
    client = std::make_unique<onenet::client::Client>(*transport, clock,
                                                      onenet::platform::system_random, s, *this);
    id_ = id;
    options.connect.client_id = id_;
    options.connect.keep_alive_seconds = 60;
    options.auto_reconnect = false;
  }
  bool connect() {
    if (client->configure(options) != onenet::Status::kOk || client->start() != onenet::Status::kOk)
      return false;
    return poll_until([&] { return client->state() == onenet::client::State::kConnected; });
  }
  bool subscribe(const char* topic, onenet::codec::QoS qos) {
    const onenet::codec::Subscription sub{topic, qos};
    if (client->subscribe(&sub, 1) != onenet::Status::kOk) return false;
    return poll_until([&] { return subscribed; });
  }
  bool poll_until(const std::function<bool()>& done, int timeout_ms = 20000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done()) {
      if (Clock::now() > deadline || client->state() == onenet::client::State::kIdle) return false;
      client->poll(5);
    }
    return true;
  }
  // Publishes, polling while the library pushes back (tx buffer or in-flight window full).
  void publish(const std::string& payload, onenet::codec::QoS qos, const char* topic = kTopic) {
    for (;;) {
      const auto r = client->publish(
          topic, onenet::ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
          qos);
      if (r.ok()) return;
      if (r.status() != onenet::Status::kClientBusy &&
          r.status() != onenet::Status::kClientInflightFull)
        die(std::string("our publish: ") + onenet::to_string(r.status()));
      client->poll(5);
    }
  }
  void on_message(const onenet::client::Message&) override {
    if (receipts) receipts->add();
    ++messages;
  }
  void on_subscribed(std::string_view, onenet::Status, onenet::codec::QoS) override {
    subscribed = true;
  }

  std::vector<uint8_t> rx_, tx_, outbox_;
  std::vector<onenet::client::InflightEntry> inflight_;
  std::vector<uint8_t> subs_;
  std::string id_;
  onenet::platform::SystemClock clock;
  std::unique_ptr<onenet::platform::NativeTransport> transport;
  std::unique_ptr<onenet::client::Client> client;
  onenet::client::Options options;
  Receipts* receipts = nullptr;
  bool subscribed = false;
  size_t messages = 0;
};

Throughput ours_throughput(uint16_t port, int qos, size_t size, size_t n) {
  const auto q = static_cast<onenet::codec::QoS>(qos);
  Receipts receipts;
  receipts.expected = n;
  OurClient sub(port, "ours-sub", 64 * 1024, 16 * 1024, 1024, 4);
  OurClient pub(port, "ours-pub", 16 * 1024, 64 * 1024, kInflightWindow * (size + 64),
                kInflightWindow);
  sub.receipts = &receipts;
  if (!sub.connect() || !sub.subscribe(kTopic, q) || !pub.connect()) die("ours: cannot connect");
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) sub.client->poll(50);
  });
  const std::string payload(size, 'x');
  const auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) pub.publish(payload, q);
  // The publisher keeps polling (sending what its buffer still holds, taking PUBACKs) until the
  // subscriber has everything.
  std::atomic<bool> received_all{false};
  std::thread flusher([&] {
    while (!received_all) pub.client->poll(5);
  });
  const size_t got = receipts.wait_for(n, std::chrono::milliseconds(2000));
  const double took = seconds(receipts.last() - start);
  received_all = true;
  flusher.join();
  stop = true;
  reader.join();
  pub.client->disconnect();
  sub.client->disconnect();
  return {got, took};
}

// ---- libmosquitto -----------------------------------------------------------------------------

// What the benchmark records of a peer library's callbacks (they run on the library's thread).
struct PeerEvents {
  bool wait(const std::function<bool()>& done) { return wait_for_library(done); }
  std::atomic<int> connected{0};  // 1 connected, -1 refused
  std::atomic<bool> subscribed{false};
  std::atomic<size_t> completed{0};
  std::atomic<size_t> messages{0};
  Receipts* receipts = nullptr;
};

struct Mosq : PeerEvents {
  explicit Mosq(const std::string& id) {
    m = mosquitto_new(id.c_str(), true, this);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, kInflightWindow);
    mosquitto_connect_callback_set(m, [](mosquitto*, void* self, int rc) {
      static_cast<Mosq*>(self)->connected = rc == 0 ? 1 : -1;
    });
    mosquitto_subscribe_callback_set(m, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<Mosq*>(self)->subscribed = true;
    });
    mosquitto_message_callback_set(m, [](mosquitto*, void* self, const mosquitto_message*) {
      auto* me = static_cast<Mosq*>(self);
      if (me->receipts) me->receipts->add();
      ++me->messages;
    });
    mosquitto_publish_callback_set(
        m, [](mosquitto*, void* self, int) { ++static_cast<Mosq*>(self)->completed; });
  }
  ~Mosq() { mosquitto_destroy(m); }
  mosquitto* m;
};

Throughput mosquitto_throughput(uint16_t port, int qos, size_t size, size_t n) {
  Receipts receipts;
  receipts.expected = n;
  Mosq sub("mosq-sub"), pub("mosq-pub");
  sub.receipts = &receipts;
  if (mosquitto_connect(sub.m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
      mosquitto_connect(pub.m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
    die("libmosquitto: cannot connect");
  mosquitto_loop_start(sub.m);
  mosquitto_loop_start(pub.m);
  if (!sub.wait([&] { return sub.connected == 1; }) ||
      !pub.wait([&] { return pub.connected == 1; }))
    die("libmosquitto: no CONNACK");
  mosquitto_subscribe(sub.m, nullptr, kTopic, qos);
  if (!sub.wait([&] { return sub.subscribed.load(); })) die("libmosquitto: no SUBACK");
  const std::string payload(size, 'x');
  const auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    const int rc = mosquitto_publish(pub.m, nullptr, kTopic, static_cast<int>(size), payload.data(),
                                     qos, false);
    if (rc != MOSQ_ERR_SUCCESS) die("libmosquitto: publish failed");
  }
  const size_t got = receipts.wait_for(n, std::chrono::milliseconds(2000));
  const double took = seconds(receipts.last() - start);
  pub.wait([&] { return pub.completed >= n; });
  mosquitto_disconnect(pub.m);
  mosquitto_disconnect(sub.m);
  mosquitto_loop_stop(pub.m, false);
  mosquitto_loop_stop(sub.m, false);
  return {got, took};
}

// ---- Paho C (MQTTAsync) -----------------------------------------------------------------------

struct Paho : PeerEvents {
  Paho(const std::string& uri, const std::string& id) {
    if (MQTTAsync_create(&c, uri.c_str(), id.c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr) !=
        MQTTASYNC_SUCCESS)
      die("paho: create failed");
    MQTTAsync_setCallbacks(
        c, this, nullptr,
        [](void* self, char* topic, int, MQTTAsync_message* m) -> int {
          auto* me = static_cast<Paho*>(self);
          if (me->receipts) me->receipts->add();
          ++me->messages;
          MQTTAsync_freeMessage(&m);
          MQTTAsync_free(topic);
          return 1;
        },
        nullptr);
  }
  ~Paho() { MQTTAsync_destroy(&c); }
  bool connect(MQTTAsync_SSLOptions* ssl = nullptr) {
    MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
    o.keepAliveInterval = 60;
    o.cleansession = 1;
    o.context = this;
    o.ssl = ssl;
    o.onSuccess = [](void* self, MQTTAsync_successData*) {
      static_cast<Paho*>(self)->connected = 1;
    };
    o.onFailure = [](void* self, MQTTAsync_failureData*) {
      static_cast<Paho*>(self)->connected = -1;
    };
    connected = 0;
    if (MQTTAsync_connect(c, &o) != MQTTASYNC_SUCCESS) return false;
    return wait([&] { return connected != 0; }) && connected == 1;
  }
  bool subscribe(const char* topic, int qos) {
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    o.context = this;
    o.onSuccess = [](void* self, MQTTAsync_successData*) {
      static_cast<Paho*>(self)->subscribed = true;
    };
    if (MQTTAsync_subscribe(c, topic, qos, &o) != MQTTASYNC_SUCCESS) return false;
    return wait([&] { return subscribed.load(); });
  }
  void publish(const std::string& payload, int qos, const char* topic = kTopic) {
    MQTTAsync_message m = MQTTAsync_message_initializer;
    m.payload = const_cast<char*>(payload.data());
    m.payloadlen = static_cast<int>(payload.size());
    m.qos = qos;
    MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
    o.context = this;
    o.onSuccess = [](void* self, MQTTAsync_successData*) {
      auto* me = static_cast<Paho*>(self);
      std::lock_guard<std::mutex> lock(me->window_mutex);
      ++me->completed;
      me->window_open.notify_one();
    };
    if (qos > 0) {
      // The window is kept here: with MQTTAsync's own maxInflight, a full window waits for its
      // send thread's one-second timer (measured: about 20 messages per second).
      std::unique_lock<std::mutex> lock(window_mutex);
      window_open.wait(lock, [&] { return sent - completed < kInflightWindow; });
    }
    ++sent;
    for (;;) {
      const int rc = MQTTAsync_sendMessage(c, topic, &m, &o);
      if (rc == MQTTASYNC_SUCCESS) return;
      if (rc != MQTTASYNC_MAX_BUFFERED_MESSAGES && rc != MQTTASYNC_MAX_BUFFERED)
        die("paho: send failed " + std::to_string(rc));
      std::this_thread::yield();  // its queue is full: let its thread drain it
    }
  }
  void disconnect() {
    MQTTAsync_disconnectOptions o = MQTTAsync_disconnectOptions_initializer;
    o.timeout = 1000;
    MQTTAsync_disconnect(c, &o);
  }
  MQTTAsync c = nullptr;
  std::mutex window_mutex;
  std::condition_variable window_open;
  size_t sent = 0;
};

Throughput paho_throughput(uint16_t port, int qos, size_t size, size_t n) {
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
  Receipts receipts;
  receipts.expected = n;
  Paho sub(uri, "paho-sub"), pub(uri, "paho-pub");
  sub.receipts = &receipts;
  if (!sub.connect() || !sub.subscribe(kTopic, qos) || !pub.connect()) die("paho: cannot connect");
  const std::string payload(size, 'x');
  const auto start = Clock::now();
  for (size_t i = 0; i < n; ++i) pub.publish(payload, qos);
  const size_t got = receipts.wait_for(n, std::chrono::milliseconds(2000));
  const double took = seconds(receipts.last() - start);
  pub.wait([&] { return pub.completed >= n; });
  pub.disconnect();
  sub.disconnect();
  return {got, took};
}

// ---- latency ----------------------------------------------------------------------------------

std::vector<double> latencies_us(const std::function<void()>& send,
                                 const std::function<size_t()>& received, size_t samples) {
  std::vector<double> us;
  us.reserve(samples);
  for (size_t i = 0; i < samples; ++i) {
    const size_t before = received();
    const auto start = Clock::now();
    send();
    while (received() == before) {
      if (Clock::now() - start > std::chrono::seconds(10))
        die("latency: a message did not come back");
    }
    us.push_back(seconds(Clock::now() - start) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return us;
}

void print_latency(const char* library, std::vector<double> us) {
  const auto at = [&](double q) {
    return us[static_cast<size_t>(q * static_cast<double>(us.size() - 1))];
  };
  std::printf(
      R"({"kind":"latency","library":"%s","qos":1,"samples":%zu,"p50_us":%.1f,"p99_us":%.1f})"
      "\n",
      library, us.size(), at(0.5), at(0.99));
  std::fflush(stdout);
}

void latency(uint16_t port, size_t samples, const std::string& only) {
  const std::string payload(64, 'x');
  const char* topic = "bench/latency";
  if (only.empty() || only == "ours") {
    OurClient c(port, "ours-lat", 16384, 16384, 4096, 4);
    if (!c.connect() || !c.subscribe(topic, onenet::codec::QoS::kAtLeastOnce))
      die("ours: latency set-up");
    // The publishing thread is the polling thread: publish, then poll until it is back.
    print_latency("ours",
                  latencies_us([&] { c.publish(payload, onenet::codec::QoS::kAtLeastOnce, topic); },
                               [&] {
                                 c.client->poll(1);
                                 return c.messages;
                               },
                               samples));
    c.client->disconnect();
  }
  if (only.empty() || only == "libmosquitto") {
    Mosq c("mosq-lat");
    if (mosquitto_connect(c.m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
      die("libmosquitto: connect");
    mosquitto_loop_start(c.m);
    c.wait([&] { return c.connected == 1; });
    mosquitto_subscribe(c.m, nullptr, topic, 1);
    c.wait([&] { return c.subscribed.load(); });
    print_latency(
        "libmosquitto",
        latencies_us([&] { mosquitto_publish(c.m, nullptr, topic, 64, payload.data(), 1, false); },
                     [&] { return c.messages.load(); }, samples));
    mosquitto_disconnect(c.m);
    mosquitto_loop_stop(c.m, false);
  }
  if (only.empty() || only == "paho") {
    Paho c("tcp://127.0.0.1:" + std::to_string(port), "paho-lat");
    if (!c.connect() || !c.subscribe(topic, 1)) die("paho: latency set-up");
    print_latency("paho", latencies_us([&] { c.publish(payload, 1, topic); },
                                       [&] { return c.messages.load(); }, samples));
    c.disconnect();
  }
}

// ---- memory per connected client --------------------------------------------------------------

size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  size_t kb = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// `phase`: "connected" (idle, every client connected) or "in_flight" (each client also holds one
// QoS 1 message of `message_bytes` whose PUBACK it has not read yet).
void print_memory(const char* library, size_t clients, size_t rss_before, size_t heap_before,
                  const char* phase, size_t message_bytes, const char* note) {
  const size_t rss = resident_bytes() - rss_before;
  const size_t heap = mallinfo2().uordblks - heap_before;
  std::printf(
      R"({"kind":"memory","library":"%s","phase":"%s","message":%zu,"clients":%zu,"rss_per_client":%zu,"heap_per_client":%zu,"config":"%s"})"
      "\n",
      library, phase, message_bytes, clients, rss / clients, heap / clients, note);
  std::fflush(stdout);
}

constexpr const char* kMemoryTopic = "bench/memory";

// One connected client as an application embeds it: transport, storage and session in one
// object (one allocation), the clock shared, nothing of the benchmark's own per client but the
// client id and a count of bytes received. Storage sizes are the caller's (an MCU's static
// buffers): a configuration choice. Each client subscribes to a topic of its own and publishes
// its message there, so it also receives one message of that size (in parts where rx is smaller).
template <size_t Rx, size_t Tx, size_t Outbox, size_t Inflight>
struct EmbeddedClient : onenet::client::Handler {
  EmbeddedClient(uint16_t port, onenet::port::Clock& clock, size_t index, bool in_parts)
      : transport("127.0.0.1", port),
        client(transport, clock, onenet::platform::system_random, storage.view(), *this) {
    std::snprintf(id, sizeof id, "ours-mem-%zu", index);
    onenet::client::Options options;
    options.connect.client_id = id;
    options.connect.keep_alive_seconds = 60;
    options.auto_reconnect = false;
    options.large_messages_in_parts = in_parts;
    if (client.configure(options) != onenet::Status::kOk || client.start() != onenet::Status::kOk)
      die("ours: configure");
  }
  void on_message(const onenet::client::Message& m) override {
    received_bytes += static_cast<uint32_t>(m.payload.size);
  }
  void on_subscribed(std::string_view, onenet::Status result, onenet::codec::QoS) override {
    if (result != onenet::Status::kOk) die("ours: subscription refused");
    subscribed = true;
  }
  onenet::platform::TcpTransport transport;
  onenet::client::StaticStorage<Rx, Tx, Outbox, Inflight, onenet::client::subscription_bytes(32), 1>
      storage;
  onenet::client::Client client;
  char id[24];
  uint32_t received_bytes = 0;
  bool subscribed = false;
};

// The topic each client subscribes to and publishes on: kMemoryTopic/ID.
std::string own_topic(const char* id) {
  return std::string(kMemoryTopic) + "/" + id;
}

// Creates `clients` clients with `add(i)`, 50 at a time (a storm of connects would overflow
// mosquitto's listen backlog), `connect_batch(first)` bringing each batch up before the next.
template <typename Add, typename ConnectBatch>
void in_batches(size_t clients, Add add, ConnectBatch connect_batch) {
  for (size_t batch = 0; batch < clients; batch += 50) {
    for (size_t i = batch; i < std::min(clients, batch + 50); ++i) add(i);
    connect_batch(batch);
  }
}

// Drives every client from one thread until `done(client)` holds for all of them.
template <typename Embedded, typename Done>
void poll_all(std::vector<std::unique_ptr<Embedded>>& all, size_t from, Done done,
              const char* what) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (bool pending = true; pending;) {
    if (Clock::now() > deadline) {
      die(std::string("ours: ") + what +
          "; last error: " + onenet::to_string(all.back()->client.last_error()));
    }
    pending = false;
    for (size_t i = from; i < all.size(); ++i) {
      all[i]->client.poll(0);
      pending |= !done(*all[i]);
    }
  }
}

template <typename Embedded>
void our_memory(uint16_t port, size_t clients, const char* library, size_t message_bytes,
                bool in_parts, const char* config) {
  onenet::platform::SystemClock clock;
  const size_t rss_before = resident_bytes();
  const size_t heap_before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<Embedded>> all;
  all.reserve(clients);
  in_batches(
      clients,
      [&](size_t i) { all.push_back(std::make_unique<Embedded>(port, clock, i, in_parts)); },
      [&](size_t first) {
        poll_all(
            all, first,
            [](const Embedded& c) { return c.client.state() == onenet::client::State::kConnected; },
            "clients did not all connect");
        for (size_t i = first; i < all.size(); ++i) {
          const std::string topic = own_topic(all[i]->id);
          const onenet::codec::Subscription sub{topic, onenet::codec::QoS::kAtLeastOnce};
          if (all[i]->client.subscribe(&sub, 1) != onenet::Status::kOk) die("ours: subscribe");
        }
        poll_all(
            all, first, [](const Embedded& c) { return c.subscribed; },
            "clients did not all subscribe");
      });
  print_memory(library, clients, rss_before, heap_before, "connected", 0, config);
  // One message each, PUBACK left unread: the client holds it until acknowledged.
  const std::vector<uint8_t> payload(message_bytes, 'm');
  for (auto& c : all) {
    const auto id =
        c->client.publish(own_topic(c->id), onenet::ByteView(payload.data(), payload.size()),
                          onenet::codec::QoS::kAtLeastOnce);
    if (!id || c->client.inflight_count() != 1) die("ours: the in-flight message was not stored");
  }
  print_memory(library, clients, rss_before, heap_before, "in_flight", message_bytes, config);
  // Proof they were in flight and that each client takes a message of that size: every PUBACK
  // arrives, and every client receives its own message whole.
  poll_all(
      all, 0,
      [&](const Embedded& c) {
        return c.client.inflight_count() == 0 && c.received_bytes == message_bytes;
      },
      "PUBACKs or messages missing");
  for (auto& c : all) c->client.disconnect();
}

// Drives libmosquitto clients from one thread through its external-loop API (mosquitto_loop()
// uses select() and stops working past fd 1023) until `done(client)` holds for all of them.
template <typename Done>
void drive_mosquitto(std::vector<std::unique_ptr<Mosq>>& all, size_t from, Done done,
                     const char* what) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (bool pending = true; pending;) {
    if (Clock::now() > deadline) die(std::string("libmosquitto: ") + what);
    std::vector<pollfd> fds;
    for (size_t i = from; i < all.size(); ++i) {
      const short events =
          static_cast<short>(POLLIN | (mosquitto_want_write(all[i]->m) ? POLLOUT : 0));
      fds.push_back({mosquitto_socket(all[i]->m), events, 0});
    }
    ::poll(fds.data(), fds.size(), 10);
    pending = false;
    for (size_t i = from; i < all.size(); ++i) {
      const short ready = fds[i - from].revents;
      if (ready & POLLIN) mosquitto_loop_read(all[i]->m, 1);
      if (ready & POLLOUT) mosquitto_loop_write(all[i]->m, 1);
      mosquitto_loop_misc(all[i]->m);
      pending |= !done(*all[i]);
    }
  }
}

void mosquitto_memory(uint16_t port, size_t clients, size_t message_bytes) {
  const size_t rss_before = resident_bytes();
  const size_t heap_before = mallinfo2().uordblks;
  std::vector<std::unique_ptr<Mosq>> all;
  all.reserve(clients);
  // Derived from the index, not kept: libmosquitto keeps its own copy of the id, and a vector of
  // ids here would count against it.
  auto id = [](size_t i) { return "mosq-mem-" + std::to_string(i); };
  in_batches(
      clients,
      [&](size_t i) {
        all.push_back(std::make_unique<Mosq>(id(i)));
        if (mosquitto_connect(all.back()->m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS)
          die("libmosquitto: connect");
      },
      [&](size_t first) {
        drive_mosquitto(
            all, first, [](const Mosq& c) { return c.connected == 1; },
            "1,000 clients did not all connect");
        for (size_t i = first; i < all.size(); ++i) {
          if (mosquitto_subscribe(all[i]->m, nullptr, own_topic(id(i).c_str()).c_str(), 1) !=
              MOSQ_ERR_SUCCESS)
            die("libmosquitto: subscribe");
        }
        drive_mosquitto(
            all, first, [](const Mosq& c) { return c.subscribed.load(); },
            "1,000 clients did not all subscribe");
      });
  const char* config = "defaults, no loop thread";
  const std::string library = "libmosquitto-" + std::to_string(message_bytes);
  print_memory(library.c_str(), clients, rss_before, heap_before, "connected", 0, config);
  // Not threaded, mosquitto_publish() writes the PUBLISH at once and keeps the message until its
  // PUBACK is read, which nothing does before the measurement.
  const std::vector<uint8_t> payload(message_bytes, 'm');
  for (size_t i = 0; i < all.size(); ++i) {
    if (mosquitto_publish(all[i]->m, nullptr, own_topic(id(i).c_str()).c_str(),
                          static_cast<int>(payload.size()), payload.data(), 1,
                          false) != MOSQ_ERR_SUCCESS)
      die("libmosquitto: publish failed");
  }
  print_memory(library.c_str(), clients, rss_before, heap_before, "in_flight", message_bytes,
               config);
  drive_mosquitto(
      all, 0, [](const Mosq& c) { return c.completed == 1 && c.messages == 1; },
      "PUBACKs or messages missing");
  for (auto& c : all) mosquitto_disconnect(c->m);
}

constexpr size_t kMemoryMessageLarge = 1024, kMemoryMessageTelemetry = 256,
                 kMemoryMessageSmall = 64;

// Our configurations, each paired with libmosquitto holding (and receiving) a message of the
// same size. tx holds control packets and small frames only: a PUBLISH larger than tx, at any
// QoS, leaves from the outbox. `in_parts`: Options::large_messages_in_parts.
template <size_t Rx, size_t Tx, size_t Outbox>
struct MemoryConfig {
  using Embedded = EmbeddedClient<Rx, Tx, Outbox, 1>;
  const char* library;
  size_t message;
  bool in_parts;
  const char* description;
};

void memory(uint16_t port, size_t clients, const std::string& library) {
  // The vector of pointers is counted for every library.
  auto run = [&](auto config) {
    if (library != config.library) return;
    using Embedded = typename decltype(config)::Embedded;
    const std::string description =
        std::string(config.description) + "; 1 in flight, 38-B subscription table";
    our_memory<Embedded>(port, clients, config.library, config.message, config.in_parts,
                         description.c_str());
  };
  run(MemoryConfig<288, 128, 1152>{"ours-1k", kMemoryMessageLarge, true,
                                   "1 KB both ways, incoming 1 KB in parts: rx 288 B, tx 128 B, "
                                   "outbox 1152 B"});
  run(MemoryConfig<1152, 128, 1152>{"ours-1k-whole", kMemoryMessageLarge, false,
                                    "1 KB both ways, incoming 1 KB whole: rx 1152 B, tx 128 B, "
                                    "outbox 1152 B"});
  run(MemoryConfig<288, 128, 288>{"ours-256", kMemoryMessageTelemetry, false,
                                  "256 B both ways: rx 288 B, tx 128 B, outbox 288 B"});
  // Buffers for the throughput benchmark's own 64-B messages (a 64-B payload on a short topic).
  run(MemoryConfig<128, 128, 128>{"ours-64", kMemoryMessageSmall, false,
                                  "64 B both ways: rx 128 B, tx 128 B, outbox 128 B"});
  for (const size_t bytes : {kMemoryMessageLarge, kMemoryMessageTelemetry, kMemoryMessageSmall}) {
    if (library == "libmosquitto-" + std::to_string(bytes)) mosquitto_memory(port, clients, bytes);
  }
}

// ---- TLS connection set-up --------------------------------------------------------------------

void tls(uint16_t tls_port, const std::string& ca_file, size_t connects, const std::string& only) {
  auto report = [&](const char* library, Clock::time_point start) {
    std::printf(R"({"kind":"tls","library":"%s","connects":%zu,"per_second":%.1f})"
                "\n",
                library, connects, static_cast<double>(connects) / seconds(Clock::now() - start));
    std::fflush(stdout);
  };
  if (only.empty() || only == "ours") {
    onenet::platform::TlsOptions options;
    options.ca_file = ca_file;
    const auto start = Clock::now();
    for (size_t i = 0; i < connects; ++i) {
      OurClient c(tls_port, "ours-tls", 4096, 4096, 1024, 2, &options);
      if (!c.connect()) die("ours: TLS connect failed");
      c.client->disconnect();
    }
    report("ours", start);
  }
  if (only.empty() || only == "libmosquitto") {
    const auto start = Clock::now();
    for (size_t i = 0; i < connects; ++i) {
      Mosq c("mosq-tls");
      mosquitto_tls_set(c.m, ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
      if (mosquitto_connect(c.m, "127.0.0.1", tls_port, 60) != MOSQ_ERR_SUCCESS)
        die("libmosquitto: TLS connect");
      while (c.connected == 0) mosquitto_loop(c.m, 10, 1);
      if (c.connected != 1) die("libmosquitto: TLS refused");
      mosquitto_disconnect(c.m);
    }
    report("libmosquitto", start);
  }
  if (only.empty() || only == "paho") {
    const auto start = Clock::now();
    for (size_t i = 0; i < connects; ++i) {
      Paho c("ssl://127.0.0.1:" + std::to_string(tls_port), "paho-tls");
      MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
      ssl.trustStore = ca_file.c_str();
      if (!c.connect(&ssl)) die("paho: TLS connect failed");
      c.disconnect();
    }
    report("paho", start);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  const double scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  mosquitto_lib_init();
  itest::Mosquitto broker(itest::BrokerOptions{true, false, false});
  if (!broker.start()) die("mosquitto did not start");

  if (what == "all" || what == "throughput") {
    struct Case {
      int qos;
      size_t size;
      size_t n;
    };
    const Case cases[] = {{0, 64, 200000}, {1, 64, 50000}, {0, 4096, 40000}, {1, 4096, 20000}};
    for (const Case& c : cases) {
      const size_t n =
          std::max<size_t>(1000, static_cast<size_t>(static_cast<double>(c.n) * scale));
      const std::pair<const char*, Throughput (*)(uint16_t, int, size_t, size_t)> libraries[] = {
          {"ours", ours_throughput},
          {"libmosquitto", mosquitto_throughput},
          {"paho", paho_throughput}};
      for (const auto& [name, run] : libraries) {
        if (what == "throughput" && argc > 3 && std::string(argv[3]) != name) continue;
        const Throughput t = run(broker.port(), c.qos, c.size, n);
        std::printf(
            R"({"kind":"throughput","library":"%s","qos":%d,"payload":%zu,"sent":%zu,"received":%zu,"seconds":%.3f,"per_second":%.0f})"
            "\n",
            name, c.qos, c.size, n, t.received, t.seconds,
            static_cast<double>(t.received) / t.seconds);
        std::fflush(stdout);
      }
    }
  }
  if (what == "all" || what == "latency")
    latency(broker.port(), static_cast<size_t>(2000 * scale) + 100,
            what == "latency" && argc > 3 ? argv[3] : "");
  // Memory: one process per library, so that neither reuses heap the other freed.
  if (what == "memory" && argc > 3) memory(broker.port(), 1000, argv[3]);
  if (what == "all" || (what == "memory" && argc <= 3)) {
    for (const char* library : {"ours-1k", "ours-1k-whole", "ours-256", "ours-64",
                                "libmosquitto-1024", "libmosquitto-256", "libmosquitto-64"}) {
      char self[4096] = {};
      if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) die("cannot find myself");
      const std::string command = std::string(self) + " memory 1 " + library;
      std::fflush(stdout);
      if (std::system(command.c_str()) != 0) die(std::string("memory run failed: ") + library);
    }
  }
  if (what == "all" || what == "tls")
    tls(broker.tls_port(), broker.ca_file(), static_cast<size_t>(200 * scale) + 20,
        what == "tls" && argc > 3 ? argv[3] : "");
  broker.stop();
  mosquitto_lib_cleanup();
  return 0;
}
