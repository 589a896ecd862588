// model::Device on the scripted transport: payload shapes of onenet-protocol.md section 4,
// reply matching, timeouts, commands and their replies, the login token.
#include <map>
#include <optional>

#include "client_fixture.hpp"
#include "model_fixture.hpp"
#include "onenet/model/device.hpp"
#include "onenet/platform/hmac.hpp"

using namespace client_test;
using nlohmann::json;
using onenet::Status;
using onenet::codec::PacketType;

namespace {

constexpr const char* kKey = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
uint64_t fixed_unix_seconds() {
  return 1700000000;
}

struct Commands : onenet::model::CommandHandler {
  onenet::model::Reply on_property_set(const json& params) override {
    sets.push_back(params);
    return set_reply;
  }
  onenet::model::Reply on_property_get(const std::vector<std::string>& ids) override {
    json data = json::object();
    for (const auto& id : ids) data[id] = 42;
    return {200, "success", data};
  }
  onenet::model::Reply on_service(const std::string&, const json& input) override {
    return {200, "success", {{"echo", input}}};
  }
  onenet::model::Reply on_ota_inform(const json& params) override {
    informs.push_back(params);
    return {200, "checking", {}};
  }
  void on_message_dropped(std::string_view topic, Status reason) override {
    dropped.push_back(std::string(topic) + ":" + onenet::to_string(reason));
  }
  void on_connection(onenet::client::State, Status reason) override {
    connection_reasons.push_back(reason);
  }
  std::optional<std::string> on_command(const std::string& id, std::string_view payload) override {
    commands.push_back(id + "=" + std::string(payload));
    return command_response;
  }
  void on_command_answered(const std::string& id, Status status,
                           const onenet::model::Reply& outcome) override {
    answered.push_back(id + " " + onenet::to_string(status) + " " + std::to_string(outcome.code) +
                       " " + outcome.msg);
  }
  void on_image_delta(const json& delta) override { deltas.push_back(delta); }
  std::vector<json> deltas;
  std::vector<std::string> commands;  ///< "cmdid=payload"
  std::vector<std::string> answered;  ///< "cmdid status code msg"
  std::optional<std::string> command_response = std::string("done");
  std::vector<Status> connection_reasons;
  std::vector<json> sets;
  std::vector<json> informs;
  std::vector<std::string> dropped;
  onenet::model::Reply set_reply{200, "success", {}};
};

template <size_t RxBytes = 4096>
struct BasicDeviceHarness {
  using Storage = onenet::client::StaticStorage<RxBytes, 4096, 8192, 16, 512>;
  FakeClock clock;
  ScriptedTransport transport;
  Commands commands;
  std::unique_ptr<Storage> storage = std::make_unique<Storage>();
  onenet::model::Device device{
      transport,          clock,           scripted_random, onenet::platform::default_hmac(),
      fixed_unix_seconds, storage->view(), commands};
  onenet::model::DeviceOptions options;

  BasicDeviceHarness() {
    options.product_id = "Pid";
    options.device_name = "dev";
    options.access_key = kKey;
    options.request_timeout_ms = 3000;
  }

  // Starts and answers CONNECT; returns the SUBSCRIBE that follows (its views valid until the
  // transport's next take_packets) and, in `*password`, the CONNECT's password.
  onenet::codec::Packet start_until_subscribe(std::string* password = nullptr) {
    REQUIRE(device.start(options) == Status::kOk);
    device.poll(0);
    auto packets = transport.take_packets();
    REQUIRE(packets.size() == 1);
    if (password) password->assign(packets[0].connect.password.as_text());
    transport.deliver({0x20, 0x02, 0x00, 0x00});
    device.poll(0);
    packets = transport.take_packets();
    REQUIRE(packets.size() == 1);
    REQUIRE(packets[0].type == PacketType::kSubscribe);
    return packets[0];
  }

  // Starts, answers CONNECT and SUBSCRIBE (with `suback_code`); returns the CONNECT's password.
  std::string connect(uint8_t suback_code = 0x00) {
    std::string password;
    const uint16_t id = start_until_subscribe(&password).packet_id;
    transport.deliver(
        {0x90, 0x03, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), suback_code});
    device.poll(0);
    return password;
  }

  // The one PUBLISH sent since the last call: topic and JSON payload.
  std::pair<std::string, json> sent() {
    auto packets = transport.take_packets();
    for (const auto& p : packets) {
      if (p.type == PacketType::kPublish) {
        return {std::string(p.publish.topic),
                json::parse(p.publish.payload.as_text(), nullptr, false)};
      }
    }
    FAIL("nothing published");
    return {};
  }

  // After the link dropped: waits out the backoff, answers the new CONNECT, and returns what the
  // device sends then (its SUBSCRIBE, and what goes again).
  auto reconnect() {
    clock.now += device.next_timeout_ms();
    device.poll(0);
    auto packets = transport.take_packets();
    REQUIRE(packets.size() == 1);
    REQUIRE(packets[0].type == PacketType::kConnect);
    transport.deliver({0x20, 0x02, 0x00, 0x00});
    device.poll(0);
    return transport.take_packets();
  }

  void deliver_json(const std::string& topic, const json& body) {
    transport.deliver(
        publish_frame(topic.c_str(), body.dump().c_str(), onenet::codec::QoS::kAtMostOnce));
    device.poll(0);
  }
};
using DeviceHarness = BasicDeviceHarness<>;

}  // namespace

TEST_CASE("the login token is a device token signed with the device key") {
  DeviceHarness h;
  const std::string password = h.connect();
  onenet::auth::ParsedToken parsed;
  CHECK(onenet::auth::verify_token(password, kKey, 1700000000, onenet::platform::default_hmac(),
                                   &parsed) == Status::kOk);
  CHECK(parsed.resource_view() == "products/Pid/devices/dev");
  CHECK(parsed.expires_at == 1700000000 + 24 * 3600);
}

TEST_CASE("property/post: {id, version, params: {prop: {value, time}}} on property/post") {
  DeviceHarness h;
  h.connect();
  REQUIRE(h.device.post_properties({{"temperature", 21.5}}, nullptr, 1700000000123).ok());
  const auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/post");
  CHECK(
      body ==
      json::parse(
          R"({"id":"1","version":"1.0","params":{"temperature":{"value":21.5,"time":1700000000123}}})"));
}

TEST_CASE("event/post, desired get and delete, pack/post: section 4 shapes") {
  DeviceHarness h;
  h.connect();
  REQUIRE(h.device.post_event("overheat", {{"temperature", 30.5}}, nullptr, 1700000000000).ok());
  auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/event/post");
  CHECK(body["params"] ==
        json::parse(R"({"overheat":{"value":{"temperature":30.5},"time":1700000000000}})"));

  REQUIRE(h.device.get_desired({"interval", "mode"}, nullptr).ok());
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/desired/get");
  CHECK(body["params"] == json::parse(R"(["interval","mode"])"));

  REQUIRE(h.device.delete_desired({{"interval", 3}, {"mode", -1}}, nullptr).ok());
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/desired/delete");
  CHECK(body["params"] == json::parse(R"({"interval":{"version":3},"mode":{}})"));

  const json pack = json::parse(R"([{"identity":{"productID":"Sub","deviceName":"s1"},
                                    "properties":{"t":{"value":1,"time":1}},"events":{}}])");
  REQUIRE(h.device.post_batch(pack, false, nullptr).ok());
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/pack/post");
  CHECK(body["params"] == pack);
  REQUIRE(h.device.post_batch(pack, true, nullptr).ok());
  CHECK(h.sent().first == "$sys/Pid/dev/thing/history/post");
}

TEST_CASE("replies are matched by id; late and unknown ones are ignored; timeouts are reported") {
  DeviceHarness h;
  h.connect();
  std::vector<std::pair<Status, int>> results;
  auto record = [&](Status s, const onenet::model::Reply& r) { results.emplace_back(s, r.code); };
  const std::string a = h.device.post_properties({{"t", 1}}, record).value();
  const std::string b = h.device.post_properties({{"t", 2}}, record).value();
  h.transport.take_packets();
  CHECK(a != b);
  h.deliver_json("$sys/Pid/dev/thing/property/post/reply",
                 {{"id", b}, {"code", 400}, {"msg", "bad"}});
  h.deliver_json("$sys/Pid/dev/thing/property/post/reply", {{"id", "999"}, {"code", 200}});
  REQUIRE(results.size() == 1);
  CHECK(results[0] == std::make_pair(Status::kOk, 400));
  h.clock.now += 3000;
  h.device.poll(0);
  REQUIRE(results.size() == 2);
  CHECK(results[1].first == Status::kModelReplyTimeout);
  h.deliver_json("$sys/Pid/dev/thing/property/post/reply", {{"id", a}, {"code", 200}});  // too late
  CHECK(results.size() == 2);
}

TEST_CASE("a reply whose code is missing or not an integer is a bad reply, not a crash") {
  DeviceHarness h;
  h.connect();
  std::vector<std::pair<Status, int>> results;
  auto record = [&](Status s, const onenet::model::Reply& r) { results.emplace_back(s, r.code); };
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(h.device.post_properties({{"t", i}}, record).value());
  h.transport.take_packets();
  const std::string topic = "$sys/Pid/dev/thing/property/post/reply";
  h.deliver_json(topic, {{"id", ids[0]}, {"code", "200"}});
  h.deliver_json(topic, {{"id", ids[1]}, {"code", true}, {"msg", 5}});
  h.deliver_json(topic, {{"id", ids[2]}, {"msg", "no code"}});
  h.deliver_json(topic, {{"id", ids[3]}, {"code", 1e30}});
  // msg and data of any type: msg read only when it is a string.
  h.deliver_json(topic, {{"id", ids[4]}, {"code", 200}, {"msg", {1, 2}}, {"data", "x"}});
  REQUIRE(results.size() == 5);
  for (int i = 0; i < 4; ++i) CHECK(results[i].first == Status::kModelBadReply);
  CHECK(results[4] == std::make_pair(Status::kOk, 200));
}

TEST_CASE("strings that are not UTF-8: refused before sending, replaced in a handler's reply") {
  DeviceHarness h;
  h.connect();
  const json bad_value = {{"label", std::string("caf\xE9")}};  // Latin-1, not UTF-8
  CHECK(h.device.post_properties(bad_value, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error().find("UTF-8") != std::string::npos);
  const json bad_key = {{std::string("\xC0\x80"), 1}};  // an overlong NUL
  CHECK(h.device.post_properties(bad_key, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.post_event("alarm", {{"text", std::string("\xED\xA0\x80")}}, nullptr).status() ==
        Status::kModelInvalidValue);  // a surrogate
  CHECK(h.transport.take_packets().empty());
  CHECK(h.device.post_properties({{"label", "caf\xC3\xA9 \xF0\x9F\x8C\xA1"}}, nullptr).ok());
  CHECK(h.sent().second["params"]["label"]["value"] == "caf\xC3\xA9 \xF0\x9F\x8C\xA1");
  CHECK(h.device.post_properties({{"label", "\xEF\xBF\xBD"}}, nullptr).ok());  // U+FFFD itself
  CHECK(h.sent().second["params"]["label"]["value"] == "\xEF\xBF\xBD");

  // A handler's reply goes out whatever it holds; its bad bytes become U+FFFD.
  h.commands.set_reply = {200, std::string("ok\xFF"), {{"note", std::string("\x80")}}};
  h.deliver_json("$sys/Pid/dev/thing/property/set", {{"id", "9"}, {"params", {{"x", 1}}}});
  const auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/set_reply");
  CHECK(body["msg"] == "ok\xEF\xBF\xBD");
  CHECK(body["data"]["note"] == "\xEF\xBF\xBD");
}

TEST_CASE("a command nested deeper than kMaxJsonDepth is answered as malformed, not followed") {
  DeviceHarness h;
  h.options.client.large_messages_in_parts = true;  // 200 KB through a 4 KB rx
  h.connect();
  const size_t depth = 100000;
  const std::string payload =
      R"({"id":"5","params":{"x":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
  h.transport.deliver(publish_frame("$sys/Pid/dev/thing/property/set", payload.c_str(),
                                    onenet::codec::QoS::kAtMostOnce));
  json reply;
  for (int i = 0; i < 200 && reply.is_null(); ++i) {
    h.device.poll(0);
    for (const auto& p : h.transport.take_packets()) {
      if (p.type == PacketType::kPublish) reply = json::parse(p.publish.payload.as_text());
    }
  }
  CHECK(reply == json::parse(R"({"id":"5","code":400,"msg":"malformed JSON"})"));
  CHECK(h.commands.sets.empty());
  h.deliver_json("$sys/Pid/dev/thing/property/set", {{"id", "6"}, {"params", {{"x", 1}}}});
  CHECK(h.commands.sets.size() == 1);  // and the next command is handled
}

TEST_CASE("request() takes uplink requests only: not a downlink, not topo/get/result") {
  DeviceHarness h;
  h.connect();
  h.transport.take_packets();
  int calls = 0;
  const auto count = [&](Status, const onenet::model::Reply&) { ++calls; };
  using onenet::model::Operation;
  CHECK(h.device.request(Operation::kPropertySet, json::object(), count).status() ==
        Status::kInvalidArgument);
  // topo/get/result has no reply: its callback was never called, and it went out in a
  // request's {id, version, params} where OneNET expects {id, code, msg}.
  CHECK(h.device.request(Operation::kTopoGetResult, json::object(), count).status() ==
        Status::kInvalidArgument);
  CHECK(h.device.last_error().find("Gateway::get_topology") != std::string::npos);
  h.device.poll(0);
  CHECK(h.transport.take_packets().empty());
  CHECK(h.device.pending() == 0);
  CHECK(calls == 0);
}

TEST_CASE("a dropped link fails what the broker had taken; the rest goes again and is answered") {
  DeviceHarness h;
  h.connect();
  std::map<std::string, Status> results;
  auto record = [&](const char* name) {
    return [&results, name](Status s, const onenet::model::Reply&) { results[name] = s; };
  };
  REQUIRE(h.device.post_properties({{"t", 1}}, record("taken")).ok());
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  h.transport.deliver(ack_frame(PacketType::kPuback, packets[0].packet_id));
  h.device.poll(0);
  const std::string waiting = h.device.post_properties({{"t", 2}}, record("waiting")).value();
  REQUIRE(h.transport.take_packets().size() == 1);  // no PUBACK for this one

  // The link drops: the first one's reply is lost with it; the second is still the broker's due.
  h.transport.dead = true;
  h.device.poll(0);
  CHECK(results == std::map<std::string, Status>{{"taken", Status::kClientNotConnected}});
  CHECK(h.device.pending() == 1);

  packets = h.reconnect();
  REQUIRE(packets.size() == 2);  // the subscription, and the request again
  CHECK(packets[1].type == PacketType::kPublish);
  CHECK(json::parse(packets[1].publish.payload.as_text())["id"] == waiting);
  h.deliver_json("$sys/Pid/dev/thing/property/post/reply", {{"id", waiting}, {"code", 200}});
  CHECK(results["waiting"] == Status::kOk);

  // A device that stops fails what waits, taken or not: no one would reconnect.
  REQUIRE(h.device.post_properties({{"t", 3}}, record("stopped")).ok());
  REQUIRE(h.device.disconnect() == Status::kOk);
  CHECK(results["stopped"] == Status::kClientNotConnected);
  CHECK(h.device.pending() == 0);
}

TEST_CASE("commands: property set, property get and service invoke are answered on _reply") {
  DeviceHarness h;
  h.connect();
  h.transport.take_packets();
  h.deliver_json("$sys/Pid/dev/thing/property/set",
                 {{"id", "100"}, {"version", "1.0"}, {"params", {{"interval", 5}}}});
  auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/set_reply");
  CHECK(body == json::parse(R"({"id":"100","code":200,"msg":"success"})"));
  REQUIRE(h.commands.sets.size() == 1);

  h.deliver_json("$sys/Pid/dev/thing/property/get", {{"id", "101"}, {"params", {"interval"}}});
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/get_reply");
  CHECK(body["data"] == json::parse(R"({"interval":42})"));

  h.deliver_json("$sys/Pid/dev/thing/service/reboot/invoke",
                 {{"id", "102"}, {"params", {{"delay", 3}}}});
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/service/reboot/invoke_reply");
  CHECK(body["id"] == "102");
  CHECK(body["data"]["echo"]["delay"] == 3);

  // An id sent as a number is answered as the string OneJSON's ids are (section 4.1).
  h.deliver_json("$sys/Pid/dev/thing/property/set", {{"id", 103}, {"params", {{"interval", 6}}}});
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/set_reply");
  CHECK(body == json::parse(R"({"id":"103","code":200,"msg":"success"})"));
}

TEST_CASE("a handler's successful reply the thing model refuses goes out as code 100") {
  const onenet::model::ThingModel model = model_test::model_of(R"({"properties":[
      {"identifier":"interval","accessMode":"rw","dataType":{"type":"int32"}}],
    "services":[{"identifier":"reboot","inputData":[
      {"identifier":"delay","dataType":{"type":"int32"}}],
      "outputData":[{"identifier":"ok","dataType":{"type":"bool"}}]}]})");
  DeviceHarness h;
  h.options.thing_model = &model;
  h.connect();
  h.transport.take_packets();
  // The harness's handler answers property/get with 42 for each identifier: an int32, as the
  // model says. Its service output {"echo": input} names no output field of reboot's.
  h.deliver_json("$sys/Pid/dev/thing/property/get", {{"id", "101"}, {"params", {"interval"}}});
  auto [topic, body] = h.sent();
  CHECK(body == json::parse(R"({"id":"101","code":200,"msg":"success","data":{"interval":42}})"));
  CHECK(h.device.last_error().empty());

  h.deliver_json("$sys/Pid/dev/thing/service/reboot/invoke",
                 {{"id", "102"}, {"params", {{"delay", 3}}}});
  std::tie(topic, body) = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/service/reboot/invoke_reply");
  CHECK(body["code"] == 100);
  CHECK(body.contains("data") == false);
  const std::string msg = body.value("msg", "");
  CHECK(msg.find("unknown identifier 'echo'") != std::string::npos);
  CHECK(h.device.last_error() == msg);

  // An error reply carries no output to check: it goes out as the handler made it.
  h.commands.set_reply = {503, "busy", {{"anything", "at all"}}};
  h.deliver_json("$sys/Pid/dev/thing/property/set", {{"id", "103"}, {"params", {{"interval", 5}}}});
  std::tie(topic, body) = h.sent();
  CHECK(body ==
        json::parse(R"({"id":"103","code":503,"msg":"busy","data":{"anything":"at all"}})"));
}

TEST_CASE("desired get and delete name only the model's properties when a model is loaded") {
  const onenet::model::ThingModel model = model_test::model_of(
      R"({"properties":[{"identifier":"interval","accessMode":"rw","dataType":{"type":"int32"}}]})");
  DeviceHarness h;
  h.options.thing_model = &model;
  h.connect();
  h.transport.take_packets();
  CHECK(h.device.get_desired({"nope"}, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "unknown property 'nope'");
  // delete_desired was sent whatever it named.
  CHECK(h.device.delete_desired({{"interval", 1}, {"nope", -1}}, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "unknown property 'nope'");
  h.device.poll(0);
  CHECK(h.transport.take_packets().empty());
  REQUIRE(h.device.delete_desired({{"interval", 1}}, nullptr).ok());
  CHECK(h.sent().first == "$sys/Pid/dev/thing/property/desired/delete");
}

TEST_CASE("pack/post and history/post: the device's own entries are checked against the model") {
  const onenet::model::ThingModel model = model_test::model_of(R"({"properties":[
      {"identifier":"t","accessMode":"r","dataType":{"type":"int32","specs":{"max":"50"}}}],
    "events":[{"identifier":"alarm","outputData":[
      {"identifier":"level","dataType":{"type":"int32"}}]}]})");
  DeviceHarness h;
  h.options.thing_model = &model;
  h.connect();
  h.transport.take_packets();
  // Before, anything went out: a value above its maximum, an unknown event.
  CHECK(h.device.post_batch(json::parse(R"([{"properties":{"t":{"value":51}}}])"), false, nullptr)
            .status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "t: 51 is above the maximum 50");
  CHECK(h.device
            .post_batch(json::parse(R"([{"identity":{"productID":"Pid","deviceName":"dev"},
                                         "events":{"fire":{"value":{}}}}])"),
                        false, nullptr)
            .status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "unknown event 'fire'");
  CHECK(h.device.post_batch(json::parse(R"([{"properties":{"t":{"value":1}}}])"), true, nullptr)
            .status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "t: a history point is a list of {value, time}");
  CHECK(h.device.post_batch(json::parse(R"([5])"), false, nullptr).status() ==
        Status::kModelInvalidValue);
  h.device.poll(0);
  CHECK(h.transport.take_packets().empty());
  // Valid ones go; a sub-device's entry is its gateway's to check (it has its own model).
  REQUIRE(h.device
              .post_batch(json::parse(R"([{"properties":{"t":[{"value":1},{"value":2}]},
                                           "events":{"alarm":[{"value":{"level":3}}]}},
                                          {"identity":{"productID":"Sub","deviceName":"s1"},
                                           "properties":{"x":[{"value":"y"}]}}])"),
                          true, nullptr)
              .ok());
  CHECK(h.sent().first == "$sys/Pid/dev/thing/history/post");
}

TEST_CASE("check_reply: property/get data and service output against the model") {
  const onenet::model::ThingModel model = model_test::model_of(R"({"properties":[
      {"identifier":"t","accessMode":"r","dataType":{"type":"float","specs":{"min":"-40","max":"85"}}}],
    "services":[{"identifier":"reboot","outputData":[
      {"identifier":"ok","dataType":{"type":"bool"}}]}]})");
  using onenet::model::check_reply;
  using onenet::model::Operation;
  using onenet::model::Reply;
  CHECK(check_reply(&model, Operation::kPropertyGet, Reply{200, "", {{"t", 21.5}}}) == "");
  CHECK(check_reply(&model, Operation::kPropertyGet, Reply{200, "", {{"t", 99}}})
            .find("above the maximum") != std::string::npos);
  CHECK(check_reply(&model, Operation::kPropertyGet, Reply{200, "", {{"x", 1}}}) ==
        "data: unknown property 'x'");
  CHECK(check_reply(&model, Operation::kPropertyGet, Reply{200, "", json::array({1})})
            .find("expected") != std::string::npos);
  CHECK(check_reply(&model, Operation::kServiceInvoke, Reply{200, "", {{"ok", true}}}, "reboot") ==
        "");
  CHECK(check_reply(&model, Operation::kServiceInvoke, Reply{200, "", {}}, "reboot") == "");
  CHECK(check_reply(&model, Operation::kServiceInvoke, Reply{200, "", {{"ok", "yes"}}}, "reboot")
            .find("expected true or false") != std::string::npos);
  // No model, or not a success: nothing to check.
  CHECK(check_reply(nullptr, Operation::kPropertyGet, Reply{200, "", {{"x", 1}}}) == "");
  CHECK(check_reply(&model, Operation::kPropertyGet, Reply{100, "", {{"x", 1}}}) == "");
}

TEST_CASE("a command longer than the receive buffer reaches the handler as dropped, unanswered") {
  DeviceHarness h;  // rx: 4 KB
  h.connect();
  const json big = {{"id", "9"}, {"params", {{"text", std::string(6000, 'x')}}}};
  h.deliver_json("$sys/Pid/dev/thing/property/set", big);
  for (int i = 0; i < 5; ++i) h.device.poll(0);
  CHECK(h.commands.dropped ==
        std::vector<std::string>{"$sys/Pid/dev/thing/property/set:" +
                                 std::string(onenet::to_string(Status::kClientMessageTooLarge))});
  CHECK(h.commands.sets.empty());
  CHECK(h.transport.take_packets().empty());  // QoS 0: nothing to acknowledge, no reply
  // The link is still up: the next command is answered.
  h.deliver_json("$sys/Pid/dev/thing/property/set", {{"id", "10"}, {"params", {{"interval", 5}}}});
  CHECK(h.commands.sets.size() == 1);
  CHECK(h.sent().first == "$sys/Pid/dev/thing/property/set_reply");
}

TEST_CASE("without a handler for it, a command gets code 100; malformed JSON gets 400") {
  FakeClock clock;
  ScriptedTransport transport;
  onenet::model::CommandHandler nothing;
  auto storage = std::make_unique<onenet::client::StaticStorage<4096, 4096, 8192, 16, 512>>();
  onenet::model::Device device(transport, clock, scripted_random, onenet::platform::default_hmac(),
                               fixed_unix_seconds, storage->view(), nothing);
  onenet::model::DeviceOptions options;
  options.product_id = "Pid";
  options.device_name = "dev";
  options.access_key = kKey;
  REQUIRE(device.start(options) == Status::kOk);
  device.poll(0);
  transport.deliver({0x20, 0x02, 0x00, 0x00});
  device.poll(0);
  transport.take_packets();
  transport.deliver(publish_frame("$sys/Pid/dev/thing/service/x/invoke",
                                  R"({"id":"7","params":{}})", onenet::codec::QoS::kAtMostOnce));
  transport.deliver(publish_frame("$sys/Pid/dev/thing/property/set", R"({"id":"8","params":)",
                                  onenet::codec::QoS::kAtMostOnce));
  device.poll(0);
  std::vector<json> replies;
  for (const auto& p : transport.take_packets()) {
    if (p.type == PacketType::kPublish)
      replies.push_back(json::parse(p.publish.payload.as_text(), nullptr, false));
  }
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["code"] == 100);
  CHECK(replies[1] == json::parse(R"({"id":"8","code":400,"msg":"malformed JSON"})"));
}

TEST_CASE("start refuses a bad key and OneNET-breaking settings") {
  DeviceHarness h;
  h.options.access_key = "not base64!";
  CHECK(h.device.start(h.options) == Status::kAuthMalformedKey);
  DeviceHarness k;
  k.options.keep_alive_seconds = 5;
  CHECK(k.device.start(k.options) == Status::kClientRuleKeepAlive);
  // Zeros that cannot work: a token expired as it is signed, requests timed out as they leave.
  DeviceHarness t;
  t.options.token_ttl_seconds = 0;
  CHECK(t.device.start(t.options) == Status::kInvalidArgument);
  CHECK(t.device.last_error() == "token_ttl_seconds: must be above 0");
  DeviceHarness r;
  r.options.request_timeout_ms = 0;
  CHECK(r.device.start(r.options) == Status::kInvalidArgument);
  CHECK(r.device.last_error() == "request_timeout_ms: must be above 0");
  CHECK(r.transport.opens == 0);
}

TEST_CASE("start while started is refused and changes nothing; after disconnect it restarts") {
  DeviceHarness h;
  const std::string password = h.connect();
  onenet::model::DeviceOptions other = h.options;
  other.device_name = "other";
  other.token_ttl_seconds = 60;
  // Before, it replaced the options and the token the running client was pointing into.
  CHECK(h.device.start(other) == Status::kClientBusy);
  REQUIRE(h.device.post_properties({{"t", 1}}, nullptr).ok());
  CHECK(h.sent().first == "$sys/Pid/dev/thing/property/post");
  REQUIRE(h.device.disconnect() == Status::kOk);
  h.transport.take_packets();
  REQUIRE(h.device.start(other) == Status::kOk);
  h.device.poll(0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].connect.client_id == "other");
  CHECK(packets[0].connect.password.as_text() != password);
}

TEST_CASE("start names a product id or device name OneNET does not allow") {
  for (const std::string& bad :
       std::vector<std::string>{"bad name", "", "a/b", "d\u00e9vice", std::string(65, 'x')}) {
    CAPTURE(bad);
    DeviceHarness h;
    h.options.device_name = bad;
    CHECK(h.device.start(h.options) == Status::kInvalidArgument);
    CHECK(h.device.last_error() ==
          "device name '" + bad + "': 1 to 64 letters, digits, '_' or '-'");
    CHECK(h.transport.opens == 0);
  }
  DeviceHarness p;
  p.options.product_id = "P+1";
  CHECK(p.device.start(p.options) == Status::kInvalidArgument);
  CHECK(p.device.last_error().rfind("product id 'P+1'", 0) == 0);
  // The longest and every allowed character.
  CHECK(onenet::model::valid_name(std::string(64, 'z')));
  CHECK(onenet::model::valid_name("Az09_-"));
}

TEST_CASE("a command longer than rx, taken in parts, is gathered and handled whole") {
  BasicDeviceHarness<256> h;
  h.options.client.large_messages_in_parts = true;
  h.connect();
  const std::string label(3000, 'x');
  const json command = {{"id", "77"}, {"version", "1.0"}, {"params", {{"label", label}}}};
  h.deliver_json("$sys/Pid/dev/thing/property/set", command);
  for (int i = 0; i < 40 && h.commands.sets.empty(); ++i) h.device.poll(0);
  REQUIRE(h.commands.sets.size() == 1);
  CHECK(h.commands.sets[0] == command["params"]);
  const auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/thing/property/set_reply");
  CHECK(body == json::parse(R"({"id":"77","code":200,"msg":"success"})"));
  CHECK(h.commands.dropped.empty());

  // Longer than OneNET allows: reported as dropped once its last part has passed, not handled.
  const json huge = {{"id", "78"},
                     {"params", {{"label", std::string(onenet::model::kMaxCommandBytes, 'y')}}}};
  h.deliver_json("$sys/Pid/dev/thing/property/set", huge);
  for (int i = 0; i < 4000 && h.commands.dropped.empty(); ++i) h.device.poll(0);
  CHECK(h.commands.sets.size() == 1);
  REQUIRE(h.commands.dropped.size() == 1);
  CHECK(h.commands.dropped[0] ==
        "$sys/Pid/dev/thing/property/set:" +
            std::string(onenet::to_string(Status::kClientMessageTooLarge)));

  // And the device goes on: the next command, in parts again, is handled.
  h.deliver_json("$sys/Pid/dev/thing/property/set",
                 {{"id", "79"}, {"params", {{"label", std::string(500, 'z')}}}});
  for (int i = 0; i < 40 && h.commands.sets.size() < 2; ++i) h.device.poll(0);
  REQUIRE(h.commands.sets.size() == 2);
  CHECK(h.commands.sets[1]["label"] == std::string(500, 'z'));
}

TEST_CASE("replies the client has no room for wait, and leave in order once it has") {
  DeviceHarness h;
  h.connect();
  h.transport.send_chunk = 0;  // the socket takes nothing for now: tx fills up
  constexpr int kCommands = 100;
  for (int i = 0; i < kCommands; ++i) {
    h.transport.deliver(
        publish_frame("$sys/Pid/dev/thing/property/get",
                      ("{\"id\":\"" + std::to_string(i) + "\",\"params\":[\"x\"]}").c_str(),
                      onenet::codec::QoS::kAtMostOnce));
  }
  for (int i = 0; i < 20; ++i) h.device.poll(0);
  CHECK(h.device.waiting_replies() > 0);  // tx is full, and the rest of the replies wait
  h.transport.send_chunk = SIZE_MAX;
  std::vector<std::string> ids;
  for (int i = 0; i < 200 && ids.size() < kCommands; ++i) {
    h.device.poll(0);
    for (const auto& p : h.transport.take_packets()) {
      if (p.type != PacketType::kPublish) continue;
      const json reply = json::parse(p.publish.payload.as_text());
      CHECK(reply["code"] == 200);
      ids.push_back(reply["id"].get<std::string>());
    }
  }
  REQUIRE(ids.size() == kCommands);
  for (int i = 0; i < kCommands; ++i) CHECK(ids[i] == std::to_string(i));
  CHECK(h.device.waiting_replies() == 0);
}

TEST_CASE("replies that wait are dropped with the link, and at most kMaxWaitingReplies wait") {
  DeviceHarness h;
  h.connect();
  h.transport.send_chunk = 0;
  const onenet::model::Reply ok{200, "success", {}};
  size_t accepted = 0;
  while (h.device.answer(onenet::model::Operation::kPropertySet, "1", ok) == Status::kOk) {
    REQUIRE(++accepted < 1000);
  }
  CHECK(h.device.waiting_replies() == onenet::model::kMaxWaitingReplies);
  CHECK(h.device.answer(onenet::model::Operation::kPropertySet, "2", ok) ==
        Status::kModelTooManyPending);
  h.transport.dead = true;
  h.device.poll(0);
  CHECK(h.device.waiting_replies() == 0);
  CHECK(h.device.answer(onenet::model::Operation::kPropertySet, "3", ok) ==
        Status::kClientNotConnected);
}

TEST_CASE(
    "a refused thing/# subscription is reported, and asked for again at the next connection") {
  DeviceHarness h;
  h.connect(0x80);
  REQUIRE(!h.commands.connection_reasons.empty());
  CHECK(h.commands.connection_reasons.back() == Status::kClientSubscribeRefused);
  CHECK(h.device.last_error().find("thing/#") != std::string::npos);

  // The link drops; the next connection subscribes again, and this time it is accepted.
  h.transport.dead = true;
  h.device.poll(0);
  h.clock.now += h.device.next_timeout_ms();
  h.device.poll(0);
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  REQUIRE(packets[0].type == PacketType::kConnect);
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});
  h.device.poll(0);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].type == PacketType::kSubscribe);
  const uint16_t id = packets[0].packet_id;
  h.transport.deliver({0x90, 0x03, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x00});
  h.device.poll(0);
  CHECK(h.commands.connection_reasons.back() == Status::kOk);
}

TEST_CASE("ota/inform: subscribed only when asked for, answered on ota/inform_reply") {
  DeviceHarness h;
  SUBCASE("not asked for: thing/# alone, and a notice on ota/inform is not this device's") {
    h.connect();
    h.deliver_json("$sys/Pid/dev/ota/inform", {{"id", "5"}, {"params", {{"tid", 1}}}});
    CHECK(h.commands.informs.empty());
    CHECK(h.transport.take_packets().empty());
  }
  SUBCASE(
      "asked for: both filters in one SUBSCRIBE; a notice reaches the handler and is answered") {
    h.options.ota_inform = true;
    const onenet::codec::Packet subscribe = h.start_until_subscribe();
    const std::string entries(subscribe.list.as_text());
    CHECK(entries.find("$sys/Pid/dev/thing/#") != std::string::npos);
    CHECK(entries.find("$sys/Pid/dev/ota/inform") != std::string::npos);
    const uint16_t id = subscribe.packet_id;
    SUBCASE("accepted") {
      h.transport.deliver(
          {0x90, 0x04, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x00, 0x00});
      h.device.poll(0);
      h.deliver_json("$sys/Pid/dev/ota/inform",
                     {{"id", "5"}, {"version", "1.0"}, {"params", {{"tid", 77}}}});
      REQUIRE(h.commands.informs.size() == 1);
      CHECK(h.commands.informs[0]["tid"] == 77);
      auto [topic, reply] = h.sent();
      CHECK(topic == "$sys/Pid/dev/ota/inform_reply");
      CHECK(reply == json::parse(R"({"id":"5","code":200,"msg":"checking"})"));
      // Malformed, with a readable id: 400, the handler not called.
      h.transport.deliver(publish_frame("$sys/Pid/dev/ota/inform", R"({"id":"6","params":)",
                                        onenet::codec::QoS::kAtMostOnce));
      h.device.poll(0);
      std::tie(topic, reply) = h.sent();
      CHECK(topic == "$sys/Pid/dev/ota/inform_reply");
      CHECK(reply == json::parse(R"({"id":"6","code":400,"msg":"malformed JSON"})"));
      CHECK(h.commands.informs.size() == 1);
    }
    SUBCASE("refused: the handler hears it, and last_error names ota/inform") {
      h.transport.deliver(
          {0x90, 0x04, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x00, 0x80});
      h.device.poll(0);
      REQUIRE(!h.commands.connection_reasons.empty());
      CHECK(h.commands.connection_reasons.back() == Status::kClientSubscribeRefused);
      CHECK(h.device.last_error().find("ota/inform") != std::string::npos);
    }
  }
}

namespace {

// The filters a SUBSCRIBE asks for, in order.
std::vector<std::string> filters_of(const onenet::codec::Packet& subscribe) {
  std::vector<std::string> filters;
  onenet::ByteView cursor = subscribe.list;
  onenet::codec::Subscription entry;
  while (onenet::codec::next_filter(&cursor, true, &entry)) filters.emplace_back(entry.filter);
  return filters;
}

// A data-stream device, connected: its SUBSCRIBE (two filters) answered with `codes`.
void connect_data_stream(DeviceHarness& h, uint8_t first_code = 0x00, uint8_t second_code = 0x00) {
  h.options.protocol = onenet::model::DataProtocol::kDataStream;
  const onenet::codec::Packet subscribe = h.start_until_subscribe();
  CHECK(filters_of(subscribe) ==
        std::vector<std::string>{"$sys/Pid/dev/dp/post/json/+", "$sys/Pid/dev/cmd/#"});
  const uint16_t id = subscribe.packet_id;
  h.transport.deliver({0x90, 0x04, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id),
                       first_code, second_code});
  h.device.poll(0);
}

// A data-stream device, connected, whose SUBSCRIBE carries a third filter after its two (what
// h.options asks for: ota/inform or image/#), all granted.
void connect_with_third_filter(DeviceHarness& h, const char* third) {
  h.options.protocol = onenet::model::DataProtocol::kDataStream;
  const onenet::codec::Packet subscribe = h.start_until_subscribe();
  CHECK(filters_of(subscribe) ==
        std::vector<std::string>{"$sys/Pid/dev/dp/post/json/+", "$sys/Pid/dev/cmd/#", third});
  const uint16_t id = subscribe.packet_id;
  h.transport.deliver(
      {0x90, 0x05, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x00, 0x00, 0x00});
  h.device.poll(0);
}

}  // namespace

TEST_CASE("data streams: points go on dp/post/json as section 4.6 shapes them, with int ids") {
  DeviceHarness h;
  connect_data_stream(h);
  std::vector<std::pair<Status, onenet::model::Reply>> results;
  auto record = [&](Status s, const onenet::model::Reply& r) { results.emplace_back(s, r); };

  const auto first = h.device.post_datapoints({{"temp", 21.5}, {"door", "open"}}, record);
  REQUIRE(first.ok());
  auto [topic, body] = h.sent();
  CHECK(topic == "$sys/Pid/dev/dp/post/json");
  CHECK(body["id"].is_number_integer());
  CHECK(std::to_string(body["id"].get<int64_t>()) == first.value());
  CHECK(body["dp"] == json::parse(R"({"temp":[{"v":21.5}],"door":[{"v":"open"}]})"));

  // With a time: every point carries it, in seconds.
  const auto second = h.device.post_datapoints({{"temp", 22}}, record, 1700000000);
  REQUIRE(second.ok());
  std::tie(topic, body) = h.sent();
  CHECK(body["dp"] == json::parse(R"({"temp":[{"v":22,"t":1700000000}]})"));

  // A series as the protocol writes it.
  const json series = json::parse(R"({"status":[{"v":{"color":"blue"},"t":1552289677},
                                                {"v":{"color":"red"},"t":1552289678}]})");
  const auto third = h.device.post_datapoint_series(series, record);
  REQUIRE(third.ok());
  std::tie(topic, body) = h.sent();
  CHECK(body["dp"] == series);

  // Answers are matched by id: accepted, rejected with the cloud's code, unknown ids ignored.
  h.deliver_json(
      "$sys/Pid/dev/dp/post/json/rejected",
      {{"id", std::stoll(second.value())}, {"err_code", 98}, {"err_msg", "Illegal Data"}});
  h.deliver_json("$sys/Pid/dev/dp/post/json/accepted", {{"id", std::stoll(first.value())}});
  h.deliver_json("$sys/Pid/dev/dp/post/json/accepted", {{"id", 999}});
  h.deliver_json("$sys/Pid/dev/dp/post/json/rejected",
                 {{"id", -1}, {"err_code", 98}, {"err_msg", "Illegal Data"}});
  REQUIRE(results.size() == 2);
  CHECK(results[0].first == Status::kOk);
  CHECK(results[0].second.code == 98);
  CHECK(results[0].second.msg == "Illegal Data");
  CHECK(results[1].first == Status::kOk);
  CHECK(results[1].second.code == 200);
  // A rejection without a readable err_code is a bad reply; the third request then has none.
  h.deliver_json("$sys/Pid/dev/dp/post/json/rejected", {{"id", std::stoll(third.value())}});
  REQUIRE(results.size() == 3);
  CHECK(results[2].first == Status::kModelBadReply);
  CHECK(h.device.pending() == 0);
}

TEST_CASE("data streams: points OneNET would refuse are refused before sending, and say why") {
  DeviceHarness h;
  connect_data_stream(h);
  auto ignore = [](Status, const onenet::model::Reply&) {};
  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "dp: expected"},
      {{{"bad name", json::array({{{"v", 1}}})}}, "stream 'bad name'"},
      {{{"a_31_characters_long_name_12345", json::array({{{"v", 1}}})}}, "1 to 30"},
      {{{"temp", json::array()}}, "temp: expected a list"},
      {{{"temp", 5}}, "temp: expected a list"},
      {{{"temp", json::array({{{"value", 1}}})}}, "temp: each point"},
      {{{"temp", json::array({{{"v", 1}, {"x", 2}}})}}, "unknown member 'x'"},
      {{{"temp", json::array({{{"v", 1}, {"t", -1}}})}}, "temp.t: Unix seconds"},
      {{{"temp", json::array({{{"v", 1}, {"t", 1.5}}})}}, "temp.t: Unix seconds"},
      {{{"temp", json::array({{{"v", 1}, {"t", 1700000000000}}})}}, "not milliseconds"},
  };
  for (const auto& entry : bad) {  // no structured binding: INFO's lambda captures by name
    const json& dp = entry.first;
    const std::string& reason = entry.second;
    INFO(dp.dump());
    CHECK(h.device.post_datapoint_series(dp, ignore).status() == Status::kModelInvalidValue);
    CHECK(h.device.last_error().find(reason) != std::string::npos);
  }
  CHECK(h.device.post_datapoints(json::array({1}), ignore).status() == Status::kModelInvalidValue);
  CHECK(h.device.post_datapoints({{"temp", 1}}, ignore, -5).status() == Status::kModelInvalidValue);
  CHECK(h.device.post_datapoints({{"temp", std::string("\xff")}}, ignore).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error().find("not UTF-8") != std::string::npos);
  CHECK(h.transport.take_packets().empty());
  // The thing model's requests belong to the other protocol.
  CHECK(h.device.post_properties({{"temp", 1}}, ignore).status() == Status::kInvalidArgument);
  CHECK(h.device.last_error().find("OneJSON") != std::string::npos);
  CHECK(h.device.answer(onenet::model::Operation::kPropertySet, "1", {}) ==
        Status::kInvalidArgument);
  // And the other way round.
  DeviceHarness onejson;
  onejson.connect();
  CHECK(onejson.device.post_datapoints({{"temp", 1}}, ignore).status() == Status::kInvalidArgument);
  CHECK(onejson.device.last_error().find("data-stream") != std::string::npos);
}

TEST_CASE("data streams: a command reaches on_command and its response goes on cmd/response") {
  DeviceHarness h;
  connect_data_stream(h);
  // Any bytes: a command is the application's, not JSON.
  const std::string binary("\x01\x00\xfe", 3);
  h.transport.deliver(publish_frame("$sys/Pid/dev/cmd/request/c-7", binary.c_str(),
                                    onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  REQUIRE(h.commands.commands.size() == 1);
  CHECK(h.commands.commands[0] == "c-7=\x01");  // publish_frame takes a C string: one byte
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].publish.topic == "$sys/Pid/dev/cmd/response/c-7");
  CHECK(packets[0].publish.payload.as_text() == "done");

  // The cloud's verdicts reach on_command_answered.
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/cmd/response/c-7/accepted", "", onenet::codec::QoS::kAtMostOnce));
  h.deliver_json("$sys/Pid/dev/cmd/response/c-7/rejected",
                 {{"err_code", 113}, {"err_msg", "unknown cmdid"}});
  h.transport.deliver(publish_frame("$sys/Pid/dev/cmd/response/c-7/rejected", "garbage",
                                    onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(h.commands.answered ==
        std::vector<std::string>{
            "c-7 ok 200 accepted", "c-7 ok 113 unknown cmdid",
            "c-7 " + std::string(onenet::to_string(Status::kModelBadReply)) + " 200 success"});

  // Our own response, carried back by cmd/#, is not a command.
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/cmd/response/c-7", "done", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(h.commands.commands.size() == 1);

  // No response: nothing sent. 1 KB or more: not sent, and said.
  h.commands.command_response.reset();
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/cmd/request/c-8", "x", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(h.transport.take_packets().empty());
  h.commands.command_response = std::string(1024, 'r');
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/cmd/request/c-9", "x", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(h.transport.take_packets().empty());
  REQUIRE(h.commands.answered.size() == 4);
  CHECK(h.commands.answered[3].rfind(
            "c-9 " + std::string(onenet::to_string(Status::kModelInvalidValue)), 0) == 0);
  CHECK(h.device.last_error().find("1024 bytes, not sent") != std::string::npos);
  h.commands.command_response = std::string(1023, 'r');
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/cmd/request/c-10", "x", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].publish.payload.as_text().size() == 1023);
  // Another device's command is not ours.
  h.transport.deliver(
      publish_frame("$sys/Pid/other/cmd/request/c-11", "x", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(h.commands.commands.size() == 4);
}

TEST_CASE("data streams: a refused cmd/# is reported; a data-stream device takes no thing model") {
  DeviceHarness h;
  connect_data_stream(h, 0x00, 0x80);
  REQUIRE(!h.commands.connection_reasons.empty());
  CHECK(h.commands.connection_reasons.back() == Status::kClientSubscribeRefused);
  CHECK(h.device.last_error().find("cmd/#") != std::string::npos);

  DeviceHarness with_model;
  const onenet::model::ThingModel model = model_test::model_of(R"({"properties":[]})");
  with_model.options.protocol = onenet::model::DataProtocol::kDataStream;
  with_model.options.thing_model = &model;
  CHECK(with_model.device.start(with_model.options) == Status::kInvalidArgument);
  CHECK(with_model.device.last_error().find("thing_model") != std::string::npos);
}

TEST_CASE("data streams: with ota_inform, ota/inform is a third filter of the one SUBSCRIBE") {
  DeviceHarness h;
  h.options.ota_inform = true;
  connect_with_third_filter(h, "$sys/Pid/dev/ota/inform");
  h.deliver_json("$sys/Pid/dev/ota/inform", {{"id", "5"}, {"params", {{"tid", 9}}}});
  REQUIRE(h.commands.informs.size() == 1);
  auto [topic, reply] = h.sent();
  CHECK(topic == "$sys/Pid/dev/ota/inform_reply");
  CHECK(reply["code"] == 200);
}

TEST_CASE("with RequeuePolicy::kDrop, a request the link lost unsent ends kClientNotConnected") {
  DeviceHarness h;
  h.options.client.requeue = onenet::client::RequeuePolicy::kDrop;
  h.connect();
  std::vector<Status> results;
  REQUIRE(h.device
              .post_properties({{"t", 1}},
                               [&](Status s, const onenet::model::Reply&) { results.push_back(s); })
              .ok());
  REQUIRE(h.transport.take_packets().size() == 1);  // sent, never acknowledged
  h.transport.dead = true;
  h.device.poll(0);
  CHECK(results.empty());  // not taken by the broker: it waits for the next connection
  CHECK(h.device.pending() == 1);
  h.clock.now += h.device.next_timeout_ms();
  h.device.poll(0);
  REQUIRE(h.transport.take_packets().size() == 1);  // CONNECT
  h.transport.deliver({0x20, 0x02, 0x00, 0x00});    // a fresh session: nothing resumed
  h.device.poll(0);
  // Dropped, not sent again: its callback hears so at once, not at its timeout.
  CHECK(results == std::vector<Status>{Status::kClientNotConnected});
  CHECK(h.device.pending() == 0);
  for (const auto& p : h.transport.take_packets()) CHECK(p.type != PacketType::kPublish);
}

TEST_CASE("a reply that is not JSON ends its request as a bad reply when its id can be read") {
  DeviceHarness h;
  h.connect();
  std::vector<Status> results;
  const std::string id =
      h.device
          .post_properties({{"t", 1}},
                           [&](Status s, const onenet::model::Reply&) { results.push_back(s); })
          .value();
  h.transport.take_packets();
  const std::string broken = R"({"id":")" + id + R"(","code":200,)";
  h.transport.deliver(publish_frame("$sys/Pid/dev/thing/property/post/reply", broken.c_str(),
                                    onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  CHECK(results == std::vector<Status>{Status::kModelBadReply});
  CHECK(h.device.pending() == 0);
}

TEST_CASE("posts that are not the shape their call takes are refused, and say why") {
  DeviceHarness h;
  h.connect();
  h.transport.take_packets();
  CHECK(h.device.post_properties(json::object(), nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "values: expected {\"property\": value, ...}");
  CHECK(h.device.post_properties(json::array({1}), nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.post_batch(json::object(), false, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "params: expected a list of device entries");
  CHECK(h.transport.take_packets().empty());
}

namespace {

// A data-stream device with DeviceOptions::device_image, connected: image/# is its third filter.
void connect_with_image(DeviceHarness& h) {
  h.options.device_image = true;
  connect_with_third_filter(h, "$sys/Pid/dev/image/#");
}

// The statuses an image request ends with, by name.
std::string status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "kOk";
    case Status::kModelReplyTimeout:
      return "kModelReplyTimeout";
    case Status::kClientNotConnected:
      return "kClientNotConnected";
    case Status::kModelBadReply:
      return "kModelBadReply";
    default:
      return onenet::to_string(s);
  }
}

// What image requests ended with, a line each: "name status code".
struct Outcomes {
  std::vector<std::string> lines;
  onenet::model::ReplyCallback record(const char* name) {
    return [this, name](Status s, const onenet::model::Reply& r) {
      lines.push_back(std::string(name) + " " + status_name(s) + " " + std::to_string(r.code));
    };
  }
};

// The one PUBLISH sent since the last call, its payload as raw text.
std::pair<std::string, std::string> sent_raw(DeviceHarness& h) {
  for (const auto& p : h.transport.take_packets()) {
    if (p.type == PacketType::kPublish)
      return {std::string(p.publish.topic), std::string(p.publish.payload.as_text())};
  }
  FAIL("nothing published");
  return {};
}

}  // namespace

TEST_CASE("device image: update and get go out as section 3 shapes them; answers in order") {
  DeviceHarness h;
  connect_with_image(h);
  std::vector<std::pair<std::string, onenet::model::Reply>> results;
  auto record = [&](const char* name) {
    return [&results, name](Status s, const onenet::model::Reply& r) {
      results.emplace_back(std::string(name) + " " + status_name(s), r);
    };
  };

  REQUIRE(h.device.update_image({{"interval", 5}}, nullptr, record("reported")).ok());
  auto [topic, payload] = sent_raw(h);
  CHECK(topic == "$sys/Pid/dev/image/update");
  CHECK(json::parse(payload) == json::parse(R"({"state":{"reported":{"interval":5}}})"));
  REQUIRE(h.device.update_image(nullptr, {{"color", "green"}}, record("desired")).ok());
  std::tie(topic, payload) = sent_raw(h);
  CHECK(json::parse(payload) == json::parse(R"({"state":{"desired":{"color":"green"}}})"));
  REQUIRE(h.device.update_image({{"a", 1}}, {{"b", 2}}, record("both")).ok());
  std::tie(topic, payload) = sent_raw(h);
  CHECK(json::parse(payload) == json::parse(R"({"state":{"reported":{"a":1},"desired":{"b":2}}})"));
  REQUIRE(h.device.get_image(record("get")).ok());
  std::tie(topic, payload) = sent_raw(h);
  CHECK(topic == "$sys/Pid/dev/image/get");
  CHECK(payload.empty());  // section 3: an empty message asks for the image
  CHECK(h.device.pending() == 4);

  // Our own uplinks come back on image/#: they answer nothing.
  h.deliver_json("$sys/Pid/dev/image/update", {{"state", {{"reported", {{"x", 1}}}}}});
  h.deliver_json("$sys/Pid/dev/image/get", json::object());
  CHECK(results.empty());

  // Answers carry no id: each kind is matched to its oldest request.
  const json image = json::parse(
      R"({"state":{"desired":{"color":"green"},"reported":{"interval":5}},"version":3})");
  h.deliver_json("$sys/Pid/dev/image/get/accepted", image);
  h.deliver_json("$sys/Pid/dev/image/update/accepted", {{"version", 1}});
  h.deliver_json("$sys/Pid/dev/image/update/rejected",
                 {{"err_code", 165}, {"err_msg", "invalid parameters"}});
  // update/accepted's content is not documented: one that is not JSON still accepts.
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/image/update/accepted", "", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  REQUIRE(results.size() == 4);
  CHECK(results[0].first == "get kOk");
  CHECK(results[0].second.code == 200);
  CHECK(results[0].second.data == image);
  CHECK(results[1].first == "reported kOk");
  CHECK(results[1].second.code == 200);
  CHECK(results[1].second.data == json{{"version", 1}});
  CHECK(results[2].first == "desired kOk");
  CHECK(results[2].second.code == 165);
  CHECK(results[2].second.msg == "invalid parameters");
  CHECK(results[3].first == "both kOk");
  CHECK(results[3].second.data.is_null());
  CHECK(h.device.pending() == 0);

  // An answer to nothing asked, and a rejection or image that cannot be read.
  h.deliver_json("$sys/Pid/dev/image/get/accepted", image);
  CHECK(results.size() == 4);
  REQUIRE(h.device.get_image(record("broken image")).ok());
  REQUIRE(h.device.get_image(record("broken refusal")).ok());
  h.transport.take_packets();
  h.deliver_json("$sys/Pid/dev/image/get/accepted", json::array({1, 2}));
  h.deliver_json("$sys/Pid/dev/image/get/rejected", {{"err_msg", "no code"}});
  REQUIRE(results.size() == 6);
  CHECK(results[4].first == "broken image kModelBadReply");
  CHECK(results[5].first == "broken refusal kModelBadReply");
}

TEST_CASE("device image: the late answer of a request that timed out is dropped, not passed on") {
  DeviceHarness h;
  connect_with_image(h);
  Outcomes results;
  REQUIRE(h.device.update_image({{"a", 1}}, nullptr, results.record("first")).ok());
  h.clock.now += 3000;
  h.device.poll(0);
  CHECK(results.lines == std::vector<std::string>{"first kModelReplyTimeout 200"});
  REQUIRE(h.device.update_image({{"a", 2}}, nullptr, results.record("second")).ok());
  h.deliver_json("$sys/Pid/dev/image/update/accepted", json::object());  // the first's, late
  CHECK(results.lines.size() == 1);
  h.deliver_json("$sys/Pid/dev/image/update/rejected",
                 {{"err_code", 160}, {"err_msg", "illegal json"}});
  CHECK(results.lines ==
        std::vector<std::string>{"first kModelReplyTimeout 200", "second kOk 160"});
}

TEST_CASE("device image: a delta reaches on_image_delta; what is not a JSON object does not") {
  DeviceHarness h;
  connect_with_image(h);
  const json delta = json::parse(R"({"state":{"color":"green"},
      "metadata":{"color":{"timestamp":1469574492}},"version":2,"timestamp":1469574492})");
  h.deliver_json("$sys/Pid/dev/image/update/delta", delta);
  h.deliver_json("$sys/Pid/dev/image/update/delta", "text");
  h.transport.deliver(
      publish_frame("$sys/Pid/dev/image/update/delta", "{broken", onenet::codec::QoS::kAtMostOnce));
  h.device.poll(0);
  REQUIRE(h.commands.deltas.size() == 1);
  CHECK(h.commands.deltas[0] == delta);
  // Another device's delta is not this one's.
  h.deliver_json("$sys/Pid/other/image/update/delta", delta);
  CHECK(h.commands.deltas.size() == 1);
}

TEST_CASE("device image: refused before sending where OneNET would refuse it, and says why") {
  DeviceHarness onejson;
  onejson.options.device_image = true;
  CHECK(onejson.device.start(onejson.options) == Status::kInvalidArgument);
  CHECK(onejson.device.last_error().find("data-stream products") != std::string::npos);

  DeviceHarness without;
  connect_data_stream(without);
  CHECK(without.device.update_image({{"a", 1}}, nullptr, nullptr).status() ==
        Status::kInvalidArgument);
  CHECK(without.device.last_error().find("device_image") != std::string::npos);
  CHECK(without.device.get_image(nullptr).status() == Status::kInvalidArgument);

  DeviceHarness h;
  connect_with_image(h);
  CHECK(h.device.update_image(nullptr, nullptr, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error().find("nothing to update") != std::string::npos);
  CHECK(h.device.update_image(json::array({1}), nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "reported: expected a JSON object of values");
  CHECK(h.device.update_image({{"a", 1}}, 5, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "desired: expected a JSON object of values");
  CHECK(h.device.update_image({{"a", "\xFF"}}, nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error().find("UTF-8") != std::string::npos);
  // The image's limits: keys, nesting (the page's own deepest valid example passes), size.
  CHECK(h.device.update_image({{"bad key", 1}}, nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "reported: key 'bad key': 1 to 30 letters, digits or '_'");
  CHECK(h.device.update_image({{"a", {{"b-c", 1}}}}, nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "reported: a: key 'b-c': 1 to 30 letters, digits or '_'");
  CHECK(h.device.update_image({{std::string(31, 'k'), 1}}, nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  const json deepest = json::parse(R"({"one":{"two":{"three":{"four":{"key":"value"}}}}})");
  const json deeper = json::parse(R"({"one":{"two":{"three":{"four":{"key":[1]}}}}})");
  CHECK(h.device.update_image(nullptr, deeper, nullptr).status() == Status::kModelInvalidValue);
  CHECK(h.device.last_error() == "desired: one.two.three.four.key: nested deeper than 4 levels");
  CHECK(h.device.update_image({{"big", std::string(4080, 'x')}}, nullptr, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(h.device.last_error().find("at most 4096") != std::string::npos);
  CHECK(h.transport.take_packets().empty());
  CHECK(h.device.pending() == 0);
  REQUIRE(h.device.update_image(deepest, {{std::string(30, 'k'), 1}}, nullptr).ok());
  CHECK(h.transport.take_packets().size() == 1);
}

TEST_CASE("device image: the link drops; what the broker had fails, the rest goes again in order") {
  DeviceHarness h;
  connect_with_image(h);
  Outcomes results;
  REQUIRE(h.device.update_image({{"a", 1}}, nullptr, results.record("taken")).ok());
  auto packets = h.transport.take_packets();
  REQUIRE(packets.size() == 1);
  h.transport.deliver(ack_frame(PacketType::kPuback, packets[0].packet_id));
  h.device.poll(0);
  REQUIRE(h.device.update_image({{"a", 2}}, nullptr, results.record("waiting")).ok());
  REQUIRE(h.transport.take_packets().size() == 1);  // no PUBACK for this one
  h.transport.dead = true;
  h.device.poll(0);
  CHECK(results.lines == std::vector<std::string>{"taken kClientNotConnected 200"});

  packets = h.reconnect();
  REQUIRE(packets.size() == 2);  // the subscription, and the update again
  CHECK(json::parse(packets[1].publish.payload.as_text())["state"]["reported"]["a"] == 2);
  // The first answer after the reconnect is the one still waiting's, not the lost one's.
  h.deliver_json("$sys/Pid/dev/image/update/rejected",
                 {{"err_code", 128}, {"err_msg", "unspecified error"}});
  CHECK(results.lines ==
        std::vector<std::string>{"taken kClientNotConnected 200", "waiting kOk 128"});
  CHECK(h.device.pending() == 0);
}
