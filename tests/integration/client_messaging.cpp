// Messages through a real mosquitto, with mosquitto_pub and mosquitto_sub as the independent peer.
#include <doctest/doctest.h>

#include <poll.h>

#include <iterator>
#include <set>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using itest::Process;
using onenet::Status;
using onenet::codec::QoS;

namespace {

// Starts mosquitto_sub in debug mode and waits until it has its SUBACK.
std::unique_ptr<Process> start_mosquitto_sub(uint16_t port, const std::string& topic, int qos,
                                             int count) {
  auto sub =
      Process::start({"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                      std::to_string(port), "-t", topic, "-q", std::to_string(qos), "-C",
                      std::to_string(count), "-d", "-i", "peer-sub-" + std::to_string(count)});
  REQUIRE(sub);
  REQUIRE(sub->wait_for_line(
      [](const std::string& l) { return l.find("SUBACK") != std::string::npos; }, 10000));
  return sub;
}

// Our publisher and our subscriber on one broker, both connected and the subscriber subscribed
// to `filter` at QoS 2 (`in_parts`: Options::large_messages_in_parts); until() polls both.
struct PublisherAndSubscriber {
  PublisherAndSubscriber(uint16_t port, const std::string& name, const itest::Sizes& pub_sizes,
                         const itest::Sizes& sub_sizes, bool in_parts, const char* filter)
      : pub(LiveClient::tcp(port, name + "-publisher", pub_sizes)),
        sub(LiveClient::tcp(port, name + "-subscriber", sub_sizes)) {
    sub->options.large_messages_in_parts = in_parts;
    REQUIRE(pub->connect() == Status::kOk);
    REQUIRE(sub->connect() == Status::kOk);
    REQUIRE(until([&] { return pub->connected() && sub->connected(); }));
    const onenet::codec::Subscription subscription{filter, QoS::kExactlyOnce};
    REQUIRE(sub->client().subscribe(&subscription, 1) == Status::kOk);
    REQUIRE(until([&] { return sub->subscribed == 1; }));
  }
  bool until(const std::function<bool()>& done) {
    return itest::poll_until(
        [&] {
          pub->client().poll(1);
          sub->client().poll(1);
        },
        done, 30000);
  }
  std::unique_ptr<LiveClient> pub;
  std::unique_ptr<LiveClient> sub;
};

}  // namespace

TEST_CASE("QoS 0, 1 and 2 round trips with mosquitto_pub and mosquitto_sub") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto c = LiveClient::tcp(broker.port(), "roundtrip");
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  const onenet::codec::Subscription sub{"to-us/#", QoS::kExactlyOnce};
  REQUIRE(c->client().subscribe(&sub, 1) == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->subscribed == 1; }));

  for (int qos = 0; qos <= 2; ++qos) {
    CAPTURE(qos);
    // mosquitto_pub -> us
    const std::string inbound = "from-mosquitto-qos" + std::to_string(qos);
    REQUIRE(itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()),
                        "-t", "to-us/x", "-q", std::to_string(qos), "-m", inbound}) == 0);
    REQUIRE(c->poll_until([&] { return !c->messages.empty() && c->messages.back() == inbound; }));

    // us -> mosquitto_sub
    auto peer = start_mosquitto_sub(broker.port(), "to-peer", qos, 1);
    const std::string outbound = "from-onenet-sdk-qos" + std::to_string(qos);
    REQUIRE(c->client().publish("to-peer", std::string_view(outbound), static_cast<QoS>(qos)).ok());
    const size_t delivered_before = c->delivered;
    if (qos > 0) REQUIRE(c->poll_until([&] { return c->delivered == delivered_before + 1; }));
    bool seen = false;
    while (!seen) {
      c->client().poll(10);
      std::string line;
      if (!peer->read_line(&line, 10000)) break;
      seen = line == outbound;
    }
    CHECK(seen);
    CHECK(peer->wait(10000) == 0);
  }
  CHECK(c->messages.size() == 3);  // QoS 2 delivered exactly once
}

TEST_CASE("a message longer than rx is reported and acknowledged, not redelivered, not fatal") {
  Mosquitto broker;
  REQUIRE(broker.start());
  itest::Sizes sizes;
  sizes.rx = 256;
  auto c = LiveClient::tcp(broker.port(), "small-rx", sizes);
  c->options.connect.clean_session = false;  // a resumed session would redeliver what is unacked
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  const onenet::codec::Subscription sub{"to-us/#", QoS::kAtLeastOnce};
  REQUIRE(c->client().subscribe(&sub, 1) == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->subscribed == 1; }));

  auto publish = [&](const std::string& topic, const std::string& text) {
    return itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()),
                       "-t", topic, "-q", "1", "-m", text});
  };
  REQUIRE(publish("to-us/big", std::string(4000, 'x')) == 0);
  REQUIRE(publish("to-us/small", "after the big one") == 0);
  REQUIRE(c->poll_until([&] { return !c->messages.empty(); }));
  CHECK(c->messages == std::vector<std::string>{"after the big one"});
  CHECK(c->dropped == std::vector<std::string>{"to-us/big"});
  CHECK(c->connects == 1);  // the link never dropped

  // The broker had its PUBACK: the resumed session brings back nothing but what is new.
  REQUIRE(c->client().disconnect() == Status::kOk);
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  REQUIRE(publish("to-us/marker", "marker") == 0);
  REQUIRE(c->poll_until([&] { return c->messages.size() == 2; }));
  CHECK(c->messages.back() == "marker");
  CHECK(c->dropped.size() == 1);
}

TEST_CASE("messages far larger than tx leave from the outbox whole, in order, at every QoS") {
  Mosquitto broker;
  REQUIRE(broker.start());
  itest::Sizes publisher_sizes;
  publisher_sizes.tx = 128;  // CONNECT, acknowledgements and small QoS 0 messages only
  publisher_sizes.outbox = 1024 * 1024;
  itest::Sizes subscriber_sizes;
  subscriber_sizes.rx = 512 * 1024;
  PublisherAndSubscriber both(broker.port(), "small-tx", publisher_sizes, subscriber_sizes, false,
                              "big/#");
  auto& pub = both.pub;
  auto& sub = both.sub;

  // 300 KB is more than a loopback socket takes at once: the frame leaves in many sends.
  const size_t sizes[] = {1000, 64 * 1024, 300 * 1024, 129, 5000};
  std::vector<std::string> sent;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string payload(sizes[i], static_cast<char>('a' + i));
    payload.replace(0, 8, "message" + std::to_string(i));
    const QoS qos = i % 2 ? QoS::kExactlyOnce : QoS::kAtLeastOnce;
    REQUIRE(pub->client().publish("big/data", std::string_view(payload), qos).ok());
    // A small QoS 0 message built in tx, queued while the big frame is still leaving.
    REQUIRE(pub->client().publish("big/note", std::string_view("note"), QoS::kAtMostOnce).ok());
    sent.push_back(payload);
  }
  // And a QoS 0 message far larger than tx: it waits in the outbox until sent.
  const std::string zero(20 * 1024, 'z');
  REQUIRE(pub->client().publish("big/zero", std::string_view(zero), QoS::kAtMostOnce).ok());
  REQUIRE(both.until([&] { return pub->delivered == sent.size(); }));
  REQUIRE(both.until([&] { return sub->messages.size() == 2 * sent.size() + 1; }));
  CHECK(pub->client().inflight_count() == 0);
  // Every byte arrives, and each QoS keeps publish order (mosquitto passes a QoS 2 message on at
  // PUBREL, so the two QoS levels may interleave differently).
  std::vector<std::string> data[2], expected[2];
  for (size_t i = 0; i < sent.size(); ++i) expected[i % 2].push_back(sent[i]);
  for (size_t i = 0; i < sub->messages.size(); ++i) {
    if (sub->topics[i] == "big/note") CHECK(sub->messages[i] == "note");
    if (sub->topics[i] == "big/zero") CHECK(sub->messages[i] == zero);
    if (sub->topics[i] != "big/data") continue;
    const std::string& m = sub->messages[i];
    const size_t index = m.size() > 7 ? static_cast<size_t>(m[7] - '0') : 0;
    data[index % 2].push_back(m);
  }
  CHECK(data[0] == expected[0]);
  CHECK(data[1] == expected[1]);
  CHECK(pub->connects == 1);
}

TEST_CASE("a client with a 256-B rx receives messages of up to 300 KB in parts, whole, in order") {
  Mosquitto broker;
  REQUIRE(broker.start());
  itest::Sizes publisher_sizes;
  publisher_sizes.outbox = 1024 * 1024;
  itest::Sizes subscriber_sizes;
  subscriber_sizes.rx = 256;
  PublisherAndSubscriber both(broker.port(), "parts", publisher_sizes, subscriber_sizes, true,
                              "parts/#");
  auto& pub = both.pub;
  auto& sub = both.sub;

  // Each byte says where it is, so a lost, repeated or swapped part shows.
  const size_t sizes[] = {300 * 1024, 1000, 200, 64 * 1024, 257};
  std::vector<std::string> sent;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string payload(sizes[i], '\0');
    for (size_t b = 0; b < payload.size(); ++b) {
      payload[b] = static_cast<char>('a' + (b * 7 + b / 26 + i) % 26);
    }
    // QoS 1 only: mosquitto forwards QoS 1 in publish order (QoS 2 waits for PUBREL).
    REQUIRE(pub->client().publish("parts/data", std::string_view(payload), QoS::kAtLeastOnce).ok());
    sent.push_back(payload);
  }
  REQUIRE(both.until([&] { return sub->messages.size() == sent.size(); }));
  CHECK(sub->messages == sent);
  CHECK(sub->parts > 300 * 1024 / 256);  // the largest alone needs that many
  CHECK(sub->dropped.empty());
  CHECK(sub->connects == 1);  // the link never dropped
  REQUIRE(both.until([&] { return pub->delivered == sent.size(); }));
}

TEST_CASE("10,000 QoS 1 messages arrive at mosquitto_sub, none lost") {
  Mosquitto broker;
  REQUIRE(broker.start());
  constexpr int kCount = 10000;
  auto peer = start_mosquitto_sub(broker.port(), "bulk", 1, kCount);
  auto c = LiveClient::tcp(broker.port(), "bulk-publisher");
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  std::set<std::string> sent;
  for (int i = 0; i < kCount; ++i) {
    const std::string payload = "message-" + std::to_string(i);
    Status s;
    while (
        (s = c->client().publish("bulk", std::string_view(payload), QoS::kAtLeastOnce).status()) ==
            Status::kClientInflightFull ||
        s == Status::kClientBusy) {
      c->client().poll(10);
    }
    REQUIRE(s == Status::kOk);
    sent.insert(payload);
    c->client().poll(0);
  }
  REQUIRE(c->poll_until([&] { return c->delivered == kCount; }, 60000));

  std::set<std::string> received;
  std::string line;
  while (static_cast<int>(received.size()) < kCount && peer->read_line(&line, 20000)) {
    if (line.rfind("message-", 0) == 0) received.insert(line);
  }
  CHECK(received == sent);
  CHECK(peer->wait(10000) == 0);
}

TEST_CASE("100 client instances in one process, each talking to itself through the broker") {
  Mosquitto broker;
  REQUIRE(broker.start());
  constexpr int kClients = 100;
  itest::Sizes small;
  small.rx = small.tx = 2048;
  small.outbox = 4096;
  small.inflight = 8;
  small.subscription_bytes = 2 * onenet::client::subscription_bytes(16);
  std::vector<std::unique_ptr<LiveClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(LiveClient::tcp(broker.port(), "many-" + std::to_string(i), small));
    REQUIRE(clients.back()->connect() == Status::kOk);
  }
  // One thread drives them all: wait on every socket, then poll each client.
  auto drive_until = [&](const std::function<bool(LiveClient&)>& done) {
    onenet::platform::SystemClock clock;
    const uint64_t deadline = clock.now_ms() + 30000;
    for (;;) {
      bool all = true;
      std::vector<pollfd> fds;
      for (auto& c : clients) {
        c->client().poll(0);
        all = all && done(*c);
        if (c->transport().native_handle() >= 0)
          fds.push_back({c->transport().native_handle(), POLLIN, 0});
      }
      if (all) return true;
      if (clock.now_ms() >= deadline) return false;
      ::poll(fds.data(), fds.size(), 10);
    }
  };
  REQUIRE(drive_until([](LiveClient& c) { return c.connected(); }));
  std::vector<std::string> topics;
  for (int i = 0; i < kClients; ++i) topics.push_back("self/" + std::to_string(i));
  for (int i = 0; i < kClients; ++i) {
    const onenet::codec::Subscription sub{topics[i], QoS::kAtLeastOnce};
    REQUIRE(clients[i]->client().subscribe(&sub, 1) == Status::kOk);
  }
  REQUIRE(drive_until([](LiveClient& c) { return c.subscribed == 1; }));
  for (int i = 0; i < kClients; ++i) {
    REQUIRE(clients[i]
                ->client()
                .publish(topics[i], std::string_view(topics[i]), QoS::kAtLeastOnce)
                .ok());
  }
  REQUIRE(drive_until([](LiveClient& c) { return c.messages.size() == 1 && c.delivered == 1; }));
  for (int i = 0; i < kClients; ++i) CHECK(clients[i]->messages[0] == topics[i]);
}
