// The OneNet rule profile: every rule refused locally, before a byte is sent.
#include "client_fixture.hpp"

using namespace client_test;
using onenet::Status;
using onenet::client::Profile;
using onenet::codec::QoS;

namespace {

void onenet_options(Harness& h) {
  h.options.profile = Profile::kOneNet;
  h.options.connect.client_id = "dev1";
  h.options.connect.has_username = true;
  h.options.connect.username = "Pid";
  h.options.connect.has_password = true;
  h.options.connect.password = std::string_view("token");
  h.options.connect.keep_alive_seconds = 120;
}

}  // namespace

TEST_CASE("OneNet profile: CONNECT settings OneNET refuses are refused at configure") {
  Harness h;
  onenet_options(h);
  CHECK(h.client.configure(h.options) == Status::kOk);
  auto with = [&](auto change) {
    Harness fresh;
    onenet_options(fresh);
    change(fresh.options);
    return fresh.client.configure(fresh.options);
  };
  CHECK(with([](auto& o) { o.connect.clean_session = false; }) == Status::kClientRuleCleanSession);
  CHECK(with([](auto& o) {
          o.connect.has_will = true;
          o.connect.will.topic = "w";
        }) == Status::kClientRuleWill);
  CHECK(with([](auto& o) { o.connect.keep_alive_seconds = 9; }) == Status::kClientRuleKeepAlive);
  CHECK(with([](auto& o) { o.connect.keep_alive_seconds = 1801; }) == Status::kClientRuleKeepAlive);
  CHECK(with([](auto& o) { o.connect.keep_alive_seconds = 10; }) == Status::kOk);
  CHECK(with([](auto& o) { o.connect.keep_alive_seconds = 1800; }) == Status::kOk);
  CHECK(with([](auto& o) { o.connect.has_password = false; }) == Status::kInvalidArgument);
}

TEST_CASE("OneNet profile: publish rules are checked before anything is sent") {
  Harness h;
  onenet_options(h);
  h.connect();
  const std::string_view own = "$sys/Pid/dev1/thing/property/post";
  CHECK(h.client.publish(own, std::string_view("{}"), QoS::kAtLeastOnce).ok());
  h.transport.take_packets();
  CHECK(h.client.publish(own, std::string_view("{}"), QoS::kExactlyOnce).status() ==
        Status::kClientRuleQos);
  CHECK(h.client.publish(own, std::string_view("{}"), QoS::kAtMostOnce, true).status() ==
        Status::kClientRuleRetain);
  for (const char* topic : {"$sys/Pid/dev2/thing/property/post", "$sys/Other/dev1/thing/x",
                            "other/topic", "$sys/Pid/dev1", "$sys/Pid/dev1/", "$sys/Pid/dev10/x"}) {
    CAPTURE(topic);
    CHECK(h.client.publish(topic, std::string_view("{}"), QoS::kAtMostOnce).status() ==
          Status::kClientRuleTopic);
  }
  const std::string big(256 * 1024 + 1, 'x');
  CHECK(h.client.publish(own, std::string_view(big), QoS::kAtMostOnce).status() ==
        Status::kClientRulePayloadTooLarge);
  CHECK(h.transport.sent.empty());
}

TEST_CASE("OneNet profile: subscription rules (own space, wildcards from level 5, at most 10)") {
  Harness h;
  onenet_options(h);
  h.connect();
  using onenet::codec::Subscription;
  const Subscription ok{"$sys/Pid/dev1/thing/#", QoS::kAtMostOnce};
  CHECK(h.client.subscribe(&ok, 1) == Status::kOk);
  h.transport.take_packets();
  for (const char* filter : {"$sys/Pid/+/thing/#", "$sys/Pid/dev2/thing/#", "#"}) {
    CAPTURE(filter);
    const Subscription bad{filter, QoS::kAtMostOnce};
    CHECK(h.client.subscribe(&bad, 1) == Status::kClientRuleTopic);
  }
  // In the device's space, but too wide: its own status (it was told "outside the space").
  for (const char* filter : {"$sys/Pid/dev1/#", "$sys/Pid/dev1/+/x"}) {
    CAPTURE(filter);
    const Subscription bad{filter, QoS::kAtMostOnce};
    CHECK(h.client.subscribe(&bad, 1) == Status::kClientRuleWildcard);
  }
  const Subscription qos2{"$sys/Pid/dev1/thing/x", QoS::kExactlyOnce};
  CHECK(h.client.subscribe(&qos2, 1) == Status::kClientRuleQos);

  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("$sys/Pid/dev1/thing/t" + std::to_string(i));
  std::vector<Subscription> nine;
  for (int i = 0; i < 9; ++i) nine.push_back({names[i], QoS::kAtMostOnce});
  CHECK(h.client.subscribe(nine.data(), 9) ==
        Status::kClientRuleSubscriptionCount);               // > 8 per packet
  CHECK(h.client.subscribe(nine.data(), 8) == Status::kOk);  // 1 + 8 = 9
  const Subscription tenth{names[8], QoS::kAtMostOnce};
  CHECK(h.client.subscribe(&tenth, 1) == Status::kOk);  // 10
  const Subscription eleventh{names[9], QoS::kAtMostOnce};
  CHECK(h.client.subscribe(&eleventh, 1) == Status::kClientRuleSubscriptionCount);
}

TEST_CASE("OneNet profile: reconnects are at least 2 s apart whatever the jitter") {
  Harness h;
  onenet_options(h);
  random_values() = {0};  // full jitter would pick 0 ms
  h.transport.open_results = {Status::kTransportConnectFailed};
  REQUIRE(h.client.configure(h.options) == Status::kOk);
  REQUIRE(h.client.start() == Status::kOk);
  h.client.poll(0);
  CHECK(h.client.next_timeout_ms() == 2000);
  random_values() = {0xFFFFFFFFu};
}
