// The broker dies or freezes mid-stream; the client recovers by itself.
#include <doctest/doctest.h>

#include <set>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using onenet::Status;
using onenet::client::State;
using onenet::codec::QoS;

TEST_CASE("broker SIGKILLed and restarted mid-stream: every QoS 1 message arrives at least once") {
  Mosquitto broker({.persistence = true});
  REQUIRE(broker.start());
  auto subscriber = LiveClient::tcp(broker.port(), "resilient-sub");
  subscriber->options.connect.clean_session =
      false;  // the broker keeps our queue across its restart
  REQUIRE(subscriber->connect() == Status::kOk);
  REQUIRE(subscriber->poll_until([&] { return subscriber->connected(); }));
  const onenet::codec::Subscription sub{"stream", QoS::kAtLeastOnce};
  REQUIRE(subscriber->client().subscribe(&sub, 1) == Status::kOk);
  REQUIRE(subscriber->poll_until([&] { return subscriber->subscribed == 1; }));

  auto publisher = LiveClient::tcp(broker.port(), "resilient-pub");
  publisher->options.connect.clean_session = false;
  REQUIRE(publisher->connect() == Status::kOk);
  REQUIRE(publisher->poll_until([&] { return publisher->connected(); }));

  constexpr int kCount = 2000;
  std::set<std::string> received_distinct;
  auto pump = [&] {
    publisher->client().poll(0);
    subscriber->client().poll(0);
    for (const std::string& m : subscriber->messages) received_distinct.insert(m);
    subscriber->messages.clear();
  };
  // Kill the broker half-way; restart it 100 messages later (or as soon as the outbox is full),
  // while the publisher keeps publishing and both clients find their own way back.
  bool killed = false;
  bool restarted = false;
  int next = 0;
  while (next < kCount) {
    if (!killed && next == kCount / 2) {
      broker.kill_hard();
      killed = true;
    }
    const std::string payload = "n" + std::to_string(next);
    const Status s = publisher->client()
                         .publish("stream", std::string_view(payload), QoS::kAtLeastOnce)
                         .status();
    if (s == Status::kOk) {
      ++next;
    } else {
      REQUIRE((s == Status::kClientInflightFull || s == Status::kClientBusy));
    }
    if (killed && !restarted && (next >= kCount / 2 + 100 || s != Status::kOk)) {
      REQUIRE(broker.start());  // same port, same database
      restarted = true;
    }
    pump();
  }
  const bool all_arrived = publisher->poll_until(
      [&] {
        pump();
        return static_cast<int>(received_distinct.size()) == kCount;
      },
      60000);
  CHECK(all_arrived);
  CHECK(received_distinct.size() == kCount);
  CHECK(publisher->connects >= 2);  // it reconnected by itself
  CHECK(subscriber->connects >= 2);
}

TEST_CASE("broker frozen with SIGSTOP: the link is declared dead by keep-alive, then recovers") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto c = LiveClient::tcp(broker.port(), "frozen");
  c->options.connect.keep_alive_seconds = 2;  // dead within 3 s of the last byte heard
  c->options.connect_timeout_ms = 2000;
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));

  broker.freeze();
  REQUIRE(c->poll_until([&] { return c->client().state() == State::kBackoff; }, 20000));
  CHECK(c->reasons.back() == Status::kClientKeepAliveTimeout);

  broker.thaw();
  REQUIRE(c->poll_until([&] { return c->connected(); }, 30000));
  CHECK(c->connects == 2);
}
