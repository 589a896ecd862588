// Will and retain against a generic broker (the Generic profile allows both).
#include <doctest/doctest.h>

#include "live_client.hpp"
#include "mosquitto_broker.hpp"

using itest::LiveClient;
using itest::Mosquitto;
using onenet::Status;
using onenet::codec::QoS;

namespace {

// A connected client with a confirmed QoS 1 subscription to `filter`.
std::unique_ptr<LiveClient> subscribed_client(const Mosquitto& broker, const std::string& id,
                                              const char* filter) {
  auto c = LiveClient::tcp(broker.port(), id);
  REQUIRE(c->connect() == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->connected(); }));
  const onenet::codec::Subscription sub{filter, QoS::kAtLeastOnce};
  REQUIRE(c->client().subscribe(&sub, 1) == Status::kOk);
  REQUIRE(c->poll_until([&] { return c->subscribed == 1; }));
  return c;
}

}  // namespace

TEST_CASE("a client that vanishes without DISCONNECT has its will published") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto watcher = subscribed_client(broker, "watcher", "wills/#");

  auto mortal = LiveClient::tcp(broker.port(), "mortal");
  mortal->options.connect.has_will = true;
  mortal->options.connect.will.topic = "wills/mortal";
  mortal->options.connect.will.payload = std::string_view("gone");
  mortal->options.connect.will.qos = QoS::kAtLeastOnce;
  REQUIRE(mortal->connect() == Status::kOk);
  REQUIRE(mortal->poll_until([&] { return mortal->connected(); }));
  mortal->transport().close();  // the link dies: no DISCONNECT, so the broker sends the will
  REQUIRE(watcher->poll_until([&] { return !watcher->messages.empty(); }));
  CHECK(watcher->topics[0] == "wills/mortal");
  CHECK(watcher->messages[0] == "gone");
}

TEST_CASE("a clean DISCONNECT discards the will") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto watcher = subscribed_client(broker, "watcher", "wills/#");

  auto polite = LiveClient::tcp(broker.port(), "polite");
  polite->options.connect.has_will = true;
  polite->options.connect.will.topic = "wills/polite";
  polite->options.connect.will.payload = std::string_view("should not appear");
  REQUIRE(polite->connect() == Status::kOk);
  REQUIRE(polite->poll_until([&] { return polite->connected(); }));
  REQUIRE(polite->client().disconnect() == Status::kOk);
  // A marker published after the disconnect: a will, had there been one, would arrive first.
  REQUIRE(itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-t",
                      "wills/marker", "-q", "1", "-m", "marker"}) == 0);
  REQUIRE(watcher->poll_until([&] { return !watcher->messages.empty(); }));
  CHECK(watcher->topics[0] == "wills/marker");
}

TEST_CASE("a retained message reaches a later subscriber, flagged as retained") {
  Mosquitto broker;
  REQUIRE(broker.start());
  auto publisher = LiveClient::tcp(broker.port(), "publisher");
  REQUIRE(publisher->connect() == Status::kOk);
  REQUIRE(publisher->poll_until([&] { return publisher->connected(); }));
  REQUIRE(publisher->client()
              .publish("state/door", std::string_view("open"), QoS::kAtLeastOnce, true)
              .ok());
  REQUIRE(publisher->poll_until([&] { return publisher->delivered == 1; }));
  REQUIRE(publisher->client().disconnect() == Status::kOk);

  auto late = subscribed_client(broker, "late", "state/#");
  REQUIRE(late->poll_until([&] { return !late->messages.empty(); }));
  CHECK(late->topics[0] == "state/door");
  CHECK(late->messages[0] == "open");
  CHECK(late->retained[0]);
}
