// gateway::Gateway on the scripted transport and fake clock: login pacing, logins repeated after
// a reconnect, sasTokens, and the shapes of sub-device command replies.
#include <set>

#include "client_fixture.hpp"
#include "model_fixture.hpp"
#include "onenet/gateway/gateway.hpp"
#include "onenet/platform/hmac.hpp"

using namespace client_test;
using nlohmann::json;
using onenet::Status;
using onenet::codec::PacketType;
using onenet::gateway::SubState;

namespace {

constexpr const char* kKey = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
uint64_t fixed_unix_seconds() {
  return 1700000000;
}

struct Sub : onenet::gateway::SubDeviceHandler {
  onenet::model::Reply on_property_get(const std::vector<std::string>& ids) override {
    json data = json::object();
    for (const auto& id : ids) data[id] = 7;
    return {200, "success", data};
  }
  onenet::model::Reply on_service(const std::string&, const json& input) override {
    return {200, "success", {{"echo", input}}};
  }
};

struct GatewayHarness {
  FakeClock clock;
  ScriptedTransport transport;
  onenet::model::CommandHandler own_commands;
  std::unique_ptr<onenet::client::StaticStorage<8192, 8192, 65536, 64, 512>> storage =
      std::make_unique<onenet::client::StaticStorage<8192, 8192, 65536, 64, 512>>();
  onenet::gateway::Gateway gateway{
      transport,          clock,           scripted_random, onenet::platform::default_hmac(),
      fixed_unix_seconds, storage->view(), own_commands};
  onenet::gateway::GatewayOptions options;
  Sub sub_handler;
  std::vector<std::pair<std::string, json>> early;  ///< PUBLISHes seen during handshake()

  GatewayHarness() {
    options.device.product_id = "GwPid";
    options.device.device_name = "gw";
    options.device.access_key = kKey;
    options.logins_per_second = 5;  // one every 200 ms
  }

  // Answers CONNECT and the thing/# SUBSCRIBE.
  void handshake() {
    gateway.poll(0);
    auto packets = transport.take_packets();
    REQUIRE(packets.size() == 1);
    REQUIRE(packets[0].type == PacketType::kConnect);
    transport.deliver({0x20, 0x02, 0x00, 0x00});
    gateway.poll(0);
    packets = transport.take_packets();
    for (const auto& p : packets) {
      if (p.type == PacketType::kSubscribe) {
        transport.deliver({0x90, 0x03, static_cast<uint8_t>(p.packet_id >> 8),
                           static_cast<uint8_t>(p.packet_id), 0x00});
      } else if (p.type == PacketType::kPublish) {  // work queued while offline starts at once
        early.emplace_back(std::string(p.publish.topic),
                           json::parse(p.publish.payload.as_text(), nullptr, false));
        transport.deliver({0x40, 0x02, static_cast<uint8_t>(p.packet_id >> 8),
                           static_cast<uint8_t>(p.packet_id)});
      }
    }
  }
  void connect() {
    REQUIRE(gateway.start(options) == Status::kOk);
    handshake();
  }
  // The link dies (what the broker had not acknowledged stays unsent).
  void drop_link() {
    transport.dead = true;
    gateway.poll(0);
  }
  // After drop_link(): waits out the backoff and answers the new CONNECT and SUBSCRIBE.
  void come_back() {
    transport.take_packets();
    clock.now += gateway.next_timeout_ms();
    handshake();
  }
  // bind_and_login_all(), and the topo/add it sends first (one sub-device added).
  json start_binding() {
    gateway.bind_and_login_all();
    auto sent = published();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/add");
    return sent[0].second;
  }

  // PUBLISHes sent since the last call (QoS 1 ones are acknowledged, as a broker would).
  std::vector<std::pair<std::string, json>> published() {
    gateway.poll(0);
    std::vector<std::pair<std::string, json>> out;
    out.swap(early);
    for (const auto& p : transport.take_packets()) {
      if (p.type != PacketType::kPublish) continue;
      out.emplace_back(std::string(p.publish.topic),
                       json::parse(p.publish.payload.as_text(), nullptr, false));
      if (p.publish.qos == onenet::codec::QoS::kAtLeastOnce) {
        transport.deliver({0x40, 0x02, static_cast<uint8_t>(p.packet_id >> 8),
                           static_cast<uint8_t>(p.packet_id)});
      }
    }
    return out;
  }
  void deliver_json(const std::string& topic, const json& body) {
    transport.deliver(
        publish_frame(topic.c_str(), body.dump().c_str(), onenet::codec::QoS::kAtMostOnce));
    gateway.poll(0);
  }
  void add_subs(int count) {
    for (int i = 1; i <= count; ++i) {
      REQUIRE(gateway.add({"SubPid", "s" + std::to_string(i), kKey}, &sub_handler) == Status::kOk);
    }
  }
  // The cloud invokes s1's `reboot` service with `input` (sub/service/invoke, section 4.5).
  void invoke_reboot(const std::string& id, const json& input) {
    deliver_json("$sys/GwPid/gw/thing/sub/service/invoke", {{"id", id},
                                                            {"params",
                                                             {{"productID", "SubPid"},
                                                              {"deviceName", "s1"},
                                                              {"identifier", "reboot"},
                                                              {"input", input}}}});
  }
  // login() for s1..s`count`, in order.
  void login_subs(int count) {
    for (int i = 1; i <= count; ++i)
      REQUIRE(gateway.login("SubPid", "s" + std::to_string(i)) == Status::kOk);
  }
};

}  // namespace

TEST_CASE("gateway: logins go out at the configured rate, without a burst after idling") {
  GatewayHarness h;
  h.add_subs(10);
  h.connect();
  h.login_subs(10);
  CHECK(h.gateway.queued() == 10);

  auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/login");
  CHECK(sent[0].second["params"] == json{{"productID", "SubPid"}, {"deviceName", "s1"}});
  CHECK(h.gateway.next_timeout_ms() == 200);
  h.clock.now += 199;
  CHECK(h.published().empty());
  h.clock.now += 1;
  CHECK(h.published().size() == 1);
  // Two seconds of silence earn no burst: still one per poll, one per 200 ms.
  h.clock.now += 2000;
  CHECK(h.published().size() == 1);
  CHECK(h.published().empty());
  size_t total = 3;
  while (h.gateway.queued() > 0) {
    h.clock.now += 200;
    total += h.published().size();
  }
  CHECK(total == 10);
}

TEST_CASE("gateway: after a reconnect every sub-device is logged in again, paced") {
  GatewayHarness h;
  h.options.logins_per_second = 1000;
  h.add_subs(5);
  h.connect();
  h.login_subs(5);
  std::vector<std::string> ids;
  for (int round = 0; round < 10 && ids.size() < 5; ++round) {
    for (const auto& [topic, body] : h.published()) ids.push_back(body.value("id", ""));
    h.clock.now += 1;
  }
  REQUIRE(ids.size() == 5);
  for (const std::string& id : ids) {
    h.deliver_json("$sys/GwPid/gw/thing/sub/login/reply",
                   {{"id", id}, {"code", 200}, {"msg", "ok"}});
  }
  CHECK(h.gateway.online_count() == 5);
  CHECK(h.gateway.state("SubPid", "s3") == SubState::kOnline);

  // The link drops: every sub-device is offline at once.
  h.drop_link();
  CHECK(h.gateway.online_count() == 0);
  CHECK(h.gateway.state("SubPid", "s3") == SubState::kBound);
  h.come_back();
  // Back: five new logins, no user code involved.
  std::set<std::string> again;
  for (int round = 0; round < 20 && again.size() < 5; ++round) {
    for (const auto& [topic, body] : h.published()) {
      CHECK(topic == "$sys/GwPid/gw/thing/sub/login");
      again.insert(body["params"].value("deviceName", ""));
      h.deliver_json("$sys/GwPid/gw/thing/sub/login/reply",
                     {{"id", body.value("id", "")}, {"code", 200}});
    }
    h.clock.now += 1;
  }
  CHECK(again == std::set<std::string>{"s1", "s2", "s3", "s4", "s5"});
  CHECK(h.gateway.online_count() == 5);
}

TEST_CASE("gateway: bind signs the sub-device's sasToken and logs in after the bind succeeds") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  const json request = h.start_binding();
  const json& params = request["params"];
  CHECK(params.value("productID", "") == "SubPid");
  onenet::auth::ParsedToken token;
  REQUIRE(onenet::auth::verify_token(params.value("sasToken", ""), kKey, 1700000000,
                                     onenet::platform::default_hmac(), &token) == Status::kOk);
  CHECK(token.resource_view() == "products/SubPid/devices/s1");
  CHECK(token.method == onenet::auth::Method::kSha1);
  // No login before the bind is answered.
  h.clock.now += 1000;
  CHECK(h.published().empty());
  h.deliver_json("$sys/GwPid/gw/thing/sub/topo/add/reply",
                 {{"id", request.value("id", "")}, {"code", 200}});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kLoggingIn);
  h.clock.now += 1000;
  const auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/login");
}

TEST_CASE("gateway: sub-device commands are answered with section 4.5's shapes") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  h.published();
  h.invoke_reboot("77", {{"delay", 2}});
  auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/service/invoke_reply");
  CHECK(sent[0].second == json::parse(R"({"id":"77","code":200,"msg":"success","data":
      {"productID":"SubPid","deviceName":"s1","identifier":"reboot","output":{"echo":{"delay":2}}}})"));

  h.deliver_json(
      "$sys/GwPid/gw/thing/sub/property/get",
      {{"id", "78"},
       {"params", {{"productID", "SubPid"}, {"deviceName", "s1"}, {"params", {"a", "b"}}}}});
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/property/get_reply");
  CHECK(sent[0].second["data"] == json{{"a", 7}, {"b", 7}});

  // Unknown sub-device, malformed JSON, missing params: error replies, never a crash.
  h.deliver_json(
      "$sys/GwPid/gw/thing/sub/property/set",
      {{"id", "79"},
       {"params", {{"productID", "SubPid"}, {"deviceName", "nobody"}, {"params", {{"x", 1}}}}}});
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second.value("code", 0) == 404);
  h.transport.deliver(publish_frame("$sys/GwPid/gw/thing/sub/property/set",
                                    R"({"id":"80","params":)", onenet::codec::QoS::kAtMostOnce));
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second == json::parse(R"({"id":"80","code":400,"msg":"malformed request"})"));

  // topo/change: applied and answered.
  h.deliver_json("$sys/GwPid/gw/thing/sub/topo/change",
                 {{"id", "81"}, {"params", {{"subList", json::array()}}}});
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/change_reply");
  CHECK(sent[0].second.value("code", 0) == 200);
}

TEST_CASE("gateway: a sub-device's reply its product's thing model refuses goes out as code 100") {
  const onenet::model::ThingModel model = model_test::model_of(R"({"properties":[
      {"identifier":"a","accessMode":"r","dataType":{"type":"int32","specs":{"max":"5"}}}],
    "services":[{"identifier":"reboot",
      "inputData":[{"identifier":"delay","dataType":{"type":"int32"}}],
      "outputData":[{"identifier":"echo","dataType":{"type":"struct","specs":[
        {"identifier":"delay","dataType":{"type":"int32"}}]}}]}]})");
  GatewayHarness h;
  h.options.thing_models["SubPid"] = &model;
  h.add_subs(1);
  h.connect();
  h.published();
  // Sub answers property/get with 7 for each identifier: above a's maximum of 5.
  h.deliver_json("$sys/GwPid/gw/thing/sub/property/get",
                 {{"id", "78"},
                  {"params", {{"productID", "SubPid"}, {"deviceName", "s1"}, {"params", {"a"}}}}});
  auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["code"] == 100);
  CHECK(sent[0].second.contains("data") == false);
  CHECK(sent[0].second.value("msg", "") ==
        "SubPid/s1: reply refused by the thing model: data.a: 7 is above the maximum 5");
  CHECK(h.gateway.last_error() == sent[0].second.value("msg", ""));

  // Its service output, {"echo": input}, matches reboot's: answered as it was made.
  h.invoke_reboot("77", {{"delay", 2}});
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].second["code"] == 200);
  CHECK(sent[0].second["data"]["output"] == json{{"echo", {{"delay", 2}}}});
}

TEST_CASE("gateway: a history report whose event is not a list of points is refused") {
  const onenet::model::ThingModel model =
      model_test::model_of(R"({"events":[{"identifier":"alarm","outputData":[
      {"identifier":"level","dataType":{"type":"int32"}}]}]})");
  GatewayHarness h;
  h.options.thing_models["SubPid"] = &model;
  h.add_subs(1);
  h.connect();
  h.published();
  // Before, the event's object was walked as if it were the list: its members were the points.
  CHECK(
      h.gateway.report({{"SubPid", "s1", json::object(), {{"alarm", {{"value", {{"level", 1}}}}}}}},
                       true, nullptr) == Status::kModelInvalidValue);
  CHECK(h.gateway.last_error() == "alarm: a history point is a list of {value, time}");
  CHECK(h.published().empty());
  CHECK(h.gateway.report(
            {{"SubPid", "s1", json::object(), {{"alarm", {{{"value", {{"level", 1}}}}}}}}}, true,
            nullptr) == Status::kOk);
  CHECK(h.published().size() == 1);
}

TEST_CASE("gateway: bad sub-devices are refused when added") {
  GatewayHarness h;
  CHECK(h.gateway.add({"SubPid", "s1", "not base64!"}) == Status::kAuthMalformedKey);
  CHECK(h.gateway.add({"", "s1", kKey}) == Status::kInvalidArgument);
  CHECK(h.gateway.add({"SubPid", "s 1", kKey}) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() ==
        "sub-device 'SubPid/s 1': product id and device name are 1 to 64 letters, digits, '_' or "
        "'-'");
  CHECK(h.gateway.add({"SubPid", "s1", kKey}) == Status::kOk);
  CHECK(h.gateway.last_error().empty());
  CHECK(h.gateway.add({"SubPid", "s1", kKey}) == Status::kInvalidArgument);  // twice
  CHECK(h.gateway.last_error() == "sub-device SubPid/s1 was added already");
  CHECK(h.gateway.login("SubPid", "s2") == Status::kInvalidArgument);  // never added
  CHECK(h.gateway.remove("SubPid", "s1") == Status::kOk);
  CHECK(h.gateway.size() == 0);
}

TEST_CASE("gateway: at most kMaxSubDevices sub-devices, OneNET's limit per gateway") {
  GatewayHarness h;
  for (size_t i = 1; i <= onenet::gateway::kMaxSubDevices; ++i)
    REQUIRE(h.gateway.add({"SubPid", "s" + std::to_string(i), kKey}) == Status::kOk);
  CHECK(h.gateway.add({"SubPid", "one-more", kKey}) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() ==
        "sub-device SubPid/one-more: a gateway has at most 1500 sub-devices on OneNET");
  // A place freed is a place again.
  REQUIRE(h.gateway.remove("SubPid", "s1") == Status::kOk);
  CHECK(h.gateway.add({"SubPid", "one-more", kKey}) == Status::kOk);
}

TEST_CASE("gateway: start() refuses itself as a sub-device, a zero sasToken life, data streams") {
  GatewayHarness h;
  // Before start() the gateway's identity is not known yet: start() finds it.
  REQUIRE(h.gateway.add({"GwPid", "gw", kKey}) == Status::kOk);
  CHECK(h.gateway.start(h.options) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() == "sub-device GwPid/gw is the gateway itself");
  CHECK(h.transport.take_packets().empty());
  REQUIRE(h.gateway.remove("GwPid", "gw") == Status::kOk);
  // A sasToken lifetime of 0: every bind would carry a token expired as it was signed.
  onenet::gateway::GatewayOptions expired = h.options;
  expired.sas_token_ttl_seconds = 0;
  CHECK(h.gateway.start(expired) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() == "sas_token_ttl_seconds: must be above 0");
  // A data-stream product cannot be a gateway: sub-devices are thing-model topics.
  onenet::gateway::GatewayOptions streams = h.options;
  streams.device.protocol = onenet::model::DataProtocol::kDataStream;
  CHECK(h.gateway.start(streams) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error().find("gateways speak OneJSON") != std::string::npos);
  CHECK(h.transport.take_packets().empty());
  h.connect();
  CHECK(h.gateway.last_error().empty());
  // Started, it is not started again: its options stay those in use.
  onenet::gateway::GatewayOptions other = h.options;
  other.logins_per_second = 0;
  CHECK(h.gateway.start(other) == Status::kClientBusy);
  CHECK(h.gateway.add({"GwPid", "gw", kKey}) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() == "sub-device GwPid/gw is the gateway itself");
}

TEST_CASE("gateway: sub-devices that come and go do not grow the table") {
  GatewayHarness h;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(h.gateway.add({"SubPid", "s" + std::to_string(i), kKey}) == Status::kOk);
  }
  const size_t three = h.gateway.table_bytes();
  // A thousand replacements, each under a new name: the records of removed ones are taken again.
  for (int i = 3; i < 1003; ++i) {
    REQUIRE(h.gateway.remove("SubPid", "s" + std::to_string(i - 3)) == Status::kOk);
    REQUIRE(h.gateway.add({"SubPid", "s" + std::to_string(i), kKey}) == Status::kOk);
  }
  CHECK(h.gateway.size() == 3);
  CHECK(h.gateway.table_bytes() <= three + 3 * sizeof(void*));  // the free list's own slots
  CHECK(h.gateway.state("SubPid", "s1002") == onenet::gateway::SubState::kUnknown);
  CHECK(h.gateway.state("SubPid", "s0") == onenet::gateway::SubState::kUnknown);
  CHECK(h.gateway.login("SubPid", "s0") == Status::kInvalidArgument);  // gone
  CHECK(h.gateway.login("SubPid", "s1000") == Status::kOk);
  CHECK(h.gateway.state("SubPid", "s1000") == onenet::gateway::SubState::kLoggingIn);
}

namespace {
// Sends whatever the gateway has due (advancing the paced clock) and answers each request with
// `code`, until `count` requests have gone; returns their operations' topic tails in order.
std::vector<std::string> answer_requests(GatewayHarness& h, size_t count, int code) {
  std::vector<std::string> done;
  for (int round = 0; round < 50 && done.size() < count; ++round) {
    for (const auto& [topic, body] : h.published()) {
      done.push_back(topic.substr(topic.rfind("/sub/") + 5));
      h.deliver_json(topic + "/reply", {{"id", body.value("id", "")}, {"code", code}});
    }
    h.clock.now += 200;
  }
  return done;
}
}  // namespace

TEST_CASE("gateway: a logout sent while the login is answered ends logged out") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  REQUIRE(h.gateway.login("SubPid", "s1") == Status::kOk);
  REQUIRE(h.gateway.logout("SubPid", "s1") == Status::kOk);
  CHECK(answer_requests(h, 2, 200) == std::vector<std::string>{"login", "logout"});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kBound);
  CHECK(h.gateway.online_count() == 0);
  CHECK(h.gateway.queued() == 0);
}

TEST_CASE("gateway: login() after a queued logout() logs the sub-device in again") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  REQUIRE(h.gateway.login("SubPid", "s1") == Status::kOk);
  CHECK(answer_requests(h, 1, 200) == std::vector<std::string>{"login"});
  REQUIRE(h.gateway.state("SubPid", "s1") == SubState::kOnline);
  // The application changes its mind before the logout has gone: it wants the device online.
  REQUIRE(h.gateway.logout("SubPid", "s1") == Status::kOk);
  REQUIRE(h.gateway.login("SubPid", "s1") == Status::kOk);
  CHECK(answer_requests(h, 2, 200) == std::vector<std::string>{"logout", "login"});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kOnline);
  CHECK(h.gateway.online_count() == 1);
}

TEST_CASE("gateway: a login without an answer after logout() does not stay logging in") {
  GatewayHarness h;
  h.options.device.request_timeout_ms = 1000;
  h.add_subs(1);
  h.connect();
  REQUIRE(h.gateway.login("SubPid", "s1") == Status::kOk);
  auto sent = h.published();
  REQUIRE(sent.size() == 1);  // the login, never answered
  REQUIRE(h.gateway.logout("SubPid", "s1") == Status::kOk);
  h.clock.now += 200;
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/logout");
  h.clock.now += 1000;  // the login's reply is late: it times out, and is not sent again
  h.gateway.poll(0);
  CHECK(h.published().empty());
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kBound);
}

TEST_CASE("gateway: logins still queued when the link drops stay logging in, and go out after") {
  GatewayHarness h;
  h.add_subs(3);
  h.connect();
  h.login_subs(3);
  REQUIRE(h.published().size() == 1);  // s1's login, taken by the broker; its reply is lost
  h.gateway.poll(0);                   // reads the PUBACK

  h.drop_link();
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kBound);
  CHECK(h.gateway.state("SubPid", "s2") == SubState::kLoggingIn);
  CHECK(h.gateway.state("SubPid", "s3") == SubState::kLoggingIn);

  h.come_back();
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kLoggingIn);
  const std::vector<std::string> sent = answer_requests(h, 3, 200);
  CHECK(sent == std::vector<std::string>{"login", "login", "login"});
  CHECK(h.gateway.online_count() == 3);
}

TEST_CASE("gateway: a bind whose reply was lost with the link is sent again before the login") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  h.start_binding();
  h.gateway.poll(0);  // reads the PUBACK: the broker has it, its reply is lost with the link

  h.drop_link();
  h.come_back();
  // The binding is still unknown: bind again, then log in.
  CHECK(answer_requests(h, 2, 200) == std::vector<std::string>{"topo/add", "login"});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kOnline);
}

TEST_CASE(
    "gateway: a bind or a login the cloud never answers is asked again while the link is up") {
  GatewayHarness h;
  h.options.device.request_timeout_ms = 1000;
  h.add_subs(1);
  h.connect();
  h.start_binding();  // never answered
  h.clock.now += 999;
  CHECK(h.published().empty());  // not before its timeout
  h.clock.now += 1;
  h.gateway.poll(0);  // the bind times out
  h.clock.now += 200;
  auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/add");
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kUnknown);
  h.deliver_json("$sys/GwPid/gw/thing/sub/topo/add/reply",
                 {{"id", sent[0].second.value("id", "")}, {"code", 200}});
  h.clock.now += 200;
  sent = h.published();
  REQUIRE(sent.size() == 1);  // the login, never answered either
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/login");
  h.clock.now += 1000;
  h.gateway.poll(0);
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kLoggingIn);  // still wanted online
  h.clock.now += 200;
  sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/login");
  h.deliver_json("$sys/GwPid/gw/thing/sub/login/reply",
                 {{"id", sent[0].second.value("id", "")}, {"code", 200}});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kOnline);
}

TEST_CASE("gateway: bind_and_login_all() twice binds each sub-device once") {
  GatewayHarness h;
  h.add_subs(2);
  h.connect();
  h.gateway.bind_and_login_all();
  h.gateway.bind_and_login_all();
  CHECK(h.gateway.queued() == 2);
  CHECK(answer_requests(h, 4, 200) ==
        std::vector<std::string>{"topo/add", "topo/add", "login", "login"});
  CHECK(h.gateway.online_count() == 2);
  CHECK(h.gateway.queued() == 0);
}

TEST_CASE(
    "gateway: after a reconnect, a bind asked again after a refusal is not followed by a login") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  h.gateway.bind_and_login_all();
  CHECK(answer_requests(h, 1, 403) == std::vector<std::string>{"topo/add"});
  REQUIRE(h.gateway.state("SubPid", "s1") == SubState::kRefused);
  h.gateway.bind_and_login_all();  // the application tries again; the link drops first
  h.drop_link();
  h.come_back();
  // Refused again: no login follows it (the cloud would refuse that too).
  CHECK(answer_requests(h, 2, 403) == std::vector<std::string>{"topo/add"});
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kRefused);
  CHECK(h.gateway.queued() == 0);
}

TEST_CASE("gateway: bind() alone binds one sub-device and leaves it bound, not logged in") {
  GatewayHarness h;
  h.add_subs(2);
  h.connect();
  CHECK(h.gateway.bind("SubPid", "nobody") == Status::kInvalidArgument);
  REQUIRE(h.gateway.bind("SubPid", "s2") == Status::kOk);
  const auto sent = h.published();
  REQUIRE(sent.size() == 1);  // s2 only
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/add");
  CHECK(sent[0].second["params"].value("deviceName", "") == "s2");
  h.deliver_json("$sys/GwPid/gw/thing/sub/topo/add/reply",
                 {{"id", sent[0].second.value("id", "")}, {"code", 200}});
  CHECK(h.gateway.state("SubPid", "s2") == SubState::kBound);
  CHECK(h.gateway.state("SubPid", "s1") != SubState::kBound);
  h.clock.now += 1000;
  CHECK(h.published().empty());  // no login was asked for
}

TEST_CASE("gateway: a report of nothing, or of values that are not objects, is refused") {
  GatewayHarness h;
  h.add_subs(1);
  h.connect();
  CHECK(h.gateway.report({}, false, nullptr) == Status::kInvalidArgument);
  CHECK(h.gateway.last_error() == "nothing to report");
  const onenet::gateway::SubReport list_of_values{"SubPid", "s1", json::array({1}), json::object()};
  CHECK(h.gateway.report({list_of_values}, false, nullptr) == Status::kModelInvalidValue);
  CHECK(h.gateway.last_error() == "SubPid/s1: properties and events must be objects");
  CHECK(h.published().empty());
}

TEST_CASE("gateway: a report that would exceed max_pending is refused whole, nothing sent") {
  GatewayHarness h;
  h.options.max_in_flight = 1;
  h.options.device.max_pending = 0;  // raised to its floor: max_in_flight + 20
  h.add_subs(1);
  h.connect();
  // One device with 2,200 points: 22 pack/post messages of 100 points, one more than may await
  // replies.
  onenet::gateway::SubReport report{"SubPid", "s1", json::object(), json::object()};
  for (int i = 0; i < 2200; ++i) report.properties["t" + std::to_string(i)] = {{"value", i}};
  int called = 0;
  const auto count_calls = [&called](Status, const onenet::model::Reply&) { ++called; };
  CHECK(h.gateway.report({report}, false, count_calls) == Status::kModelTooManyPending);
  CHECK(h.gateway.last_error() == "too many requests awaiting replies for 22 more messages");
  CHECK(h.published().empty());
  report.properties.erase("t0");
  for (int i = 1; i < 100; ++i) report.properties.erase("t" + std::to_string(i));
  CHECK(h.gateway.report({report}, false, count_calls) == Status::kOk);  // 21 messages
  CHECK(h.published().size() == 21);
  CHECK(called == 0);  // none answered yet; the refused report never calls back
}

TEST_CASE(
    "gateway: after a restart, topo/get marks the cloud's bound sub-devices, which log in "
    "without a new bind") {
  GatewayHarness h;
  h.add_subs(3);  // a fresh process: every binding unknown
  h.connect();
  onenet::gateway::Gateway::Topology listed;
  Status got = Status::kInternalError;
  REQUIRE(h.gateway.get_topology([&](Status s, const auto& list) {
    got = s;
    listed = list;
  }) == Status::kOk);
  auto sent = h.published();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/get");
  // The cloud holds s1 and s3 (and one this process did not add), with an entry it cannot read.
  h.deliver_json("$sys/GwPid/gw/thing/sub/topo/get/reply",
                 {{"id", sent[0].second.value("id", "")},
                  {"code", 200},
                  {"data", json::array({{{"productID", "SubPid"}, {"deviceName", "s1"}},
                                        {{"productID", "SubPid"}, {"deviceName", "s3"}},
                                        {{"productID", "SubPid"}, {"deviceName", "other"}},
                                        7})}});
  CHECK(got == Status::kOk);
  CHECK(listed.size() == 3);
  CHECK(h.gateway.state("SubPid", "s1") == SubState::kBound);
  CHECK(h.gateway.state("SubPid", "s2") == SubState::kUnknown);
  CHECK(h.gateway.state("SubPid", "s3") == SubState::kBound);
  sent = h.published();
  REQUIRE(sent.size() == 1);  // the synchronisation confirmed (section 4.5)
  CHECK(sent[0].first == "$sys/GwPid/gw/thing/sub/topo/get/result");

  // bind_and_login_all(): s1 and s3 log in at once; only s2 is bound first.
  h.gateway.bind_and_login_all();
  std::vector<std::string> topics;
  for (int step = 0; step < 10; ++step) {
    h.clock.now += 200;
    for (const auto& [topic, body] : h.published()) {
      topics.push_back(topic.substr(topic.find("/thing/sub/") + 11));
      if (topic.find("/sub/topo/add") != std::string::npos ||
          topic.find("/sub/login") != std::string::npos) {
        h.deliver_json(topic + "/reply", {{"id", body.value("id", "")}, {"code", 200}});
      }
    }
  }
  CHECK(std::count(topics.begin(), topics.end(), "topo/add") == 1);
  CHECK(std::count(topics.begin(), topics.end(), "login") == 3);
  CHECK(h.gateway.online_count() == 3);
}
