// gateway::Gateway through onenet-local: topology, sub-device sessions, reports split at OneNET's
// limits, cloud commands routed to sub-devices, and recovery after the gateway's link drops.
#include <doctest/doctest.h>

#include <deque>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "onenet/gateway/gateway.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet_local.hpp"
#include "poll_until.hpp"
#include "silent_listener.hpp"

using itest::OnenetLocal;
using nlohmann::json;
using onenet::Status;
using onenet::gateway::SubState;

namespace {

constexpr const char* kGatewayProduct = "GwProd0001";
constexpr const char* kSubProduct = "DemoProd01";  // with the telemetry sample's thing model
constexpr const char* kRawProduct = "RawProd001";  // no thing model: any identifiers

std::vector<std::string> seeds(int subs, const std::string& product = kSubProduct) {
  std::vector<std::string> args = {
      "--seed-device", std::string(kGatewayProduct) + "/gw-1", "--tsl",
      std::string(kSubProduct) + "=" + ONENET_SOURCE_DIR + "/samples/telemetry/thing-model.json"};
  for (int i = 1; i <= subs; ++i) {
    args.push_back("--seed-device");
    args.push_back(product + "/node-" + std::to_string(i));
  }
  return args;
}

struct Node : onenet::gateway::SubDeviceHandler {
  onenet::model::Reply on_property_set(const json& params) override {
    sets.push_back(params);
    return {200, "applied", {}};
  }
  onenet::model::Reply on_property_get(const std::vector<std::string>& ids) override {
    json data = json::object();
    for (const std::string& id : ids) data[id] = 21.5;
    return {200, "ok", data};
  }
  onenet::model::Reply on_service(const std::string& id, const json& input) override {
    return {200, "ok", {{"result", id + " in " + std::to_string(input.value("delay", 0)) + " s"}}};
  }
  void on_state(SubState state, const onenet::model::Reply& reply) override {
    states.push_back(state);
    last_reply = reply;
  }
  std::vector<json> sets;
  std::vector<SubState> states;
  onenet::model::Reply last_reply;
};

struct NoCommands : onenet::model::CommandHandler {};

// A gateway on our TCP transport, polled by the test thread.
struct Rig {
  explicit Rig(const OnenetLocal& cloud)
      : cloud(cloud),
        transport("127.0.0.1", cloud.port()),
        storage(std::make_unique<onenet::client::StaticStorage<65536, 65536, 262144, 256, 512>>()),
        gateway(transport, clock, onenet::platform::system_random, onenet::platform::default_hmac(),
                onenet::platform::unix_seconds, storage->view(), commands) {
    options.device.product_id = kGatewayProduct;
    options.device.device_name = "gw-1";
    options.device.access_key = cloud.device_key(0);
    options.device.request_timeout_ms = 5000;
    options.logins_per_second = 500;
    options.thing_models[kSubProduct] = &model;
    REQUIRE(model.load(
        itest::read_file(std::string(ONENET_SOURCE_DIR) + "/samples/telemetry/thing-model.json"),
        &error));
  }
  // Adds the seeded devices 1..count (keys from onenet-local's ready line) with their handlers.
  void add_nodes(size_t count, size_t first_seed = 1) {
    nodes.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const json& seed = cloud.info["devices"][first_seed + i];
      REQUIRE(gateway.add({seed["product_id"], seed["device_name"], seed["key"]}, &nodes[i]) ==
              Status::kOk);
    }
  }
  bool start() {
    if (gateway.start(options) != Status::kOk) return false;
    return poll_until(
        [&] { return gateway.device().state() == onenet::client::State::kConnected; });
  }
  bool poll_until(const std::function<bool()>& done, int timeout_ms = 20000) {
    return itest::poll_until([&] { gateway.poll(10); }, done, timeout_ms);
  }
  // Calls the HTTP API on another thread while this one keeps the gateway answering.
  json http_while_polling(const std::string& method, const std::string& path, const json& body) {
    auto answer =
        std::async(std::launch::async, [&] { return cloud.curl(method, path, body.dump()); });
    REQUIRE(poll_until(
        [&] { return answer.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
    return answer.get();
  }
  Status report_and_wait(const std::vector<onenet::gateway::SubReport>& reports, bool history,
                         onenet::model::Reply* reply = nullptr) {
    Status result = Status::kInternalError;
    const Status sent =
        gateway.report(reports, history, [&](Status s, const onenet::model::Reply& r) {
          result = s;
          if (reply) *reply = r;
        });
    if (sent != Status::kOk) return sent;
    REQUIRE(poll_until([&] { return result != Status::kInternalError; }));
    return result;
  }
  int presence(const std::string& product, const std::string& name) {
    const json d =
        cloud.curl("GET", "/device/detail?product_id=" + product + "&device_name=" + name);
    return d["data"].value("status", -1);
  }

  const OnenetLocal& cloud;
  std::string error;
  onenet::model::ThingModel model;
  onenet::platform::SystemClock clock;
  onenet::platform::TcpTransport transport;
  std::unique_ptr<onenet::client::StaticStorage<65536, 65536, 262144, 256, 512>> storage;
  NoCommands commands;
  onenet::gateway::Gateway gateway;
  onenet::gateway::GatewayOptions options;
  std::deque<Node> nodes;
};

// Requests of one kind the platform received from the gateway, from the event log.
std::vector<json> requests(const OnenetLocal& cloud, const std::string& suffix) {
  std::vector<json> found;
  for (const json& e : cloud.events()) {
    const std::string op = e.value("operation", "");
    if (e.value("event", "") == "request" && op.size() >= suffix.size() &&
        op.compare(op.size() - suffix.size(), suffix.size(), suffix) == 0) {
      found.push_back(e);
    }
  }
  return found;
}

}  // namespace

TEST_CASE("gateway: bind, log in, report, set, invoke and unbind sub-devices") {
  OnenetLocal cloud(seeds(5));
  REQUIRE(cloud.start());
  Rig rig(cloud);
  rig.add_nodes(5);
  REQUIRE(rig.start());
  CHECK(rig.presence(kSubProduct, "node-3") == 2);  // never connected

  rig.gateway.bind_and_login_all();
  REQUIRE(rig.poll_until([&] { return rig.gateway.online_count() == 5; }));
  CHECK(rig.nodes[2].states ==
        std::vector<SubState>{SubState::kBound, SubState::kLoggingIn, SubState::kOnline});
  CHECK(rig.presence(kSubProduct, "node-3") == 1);  // the cloud shows it online
  CHECK(requests(cloud, "/thing/sub/topo/add").size() == 5);
  CHECK(requests(cloud, "/thing/sub/login").size() == 5);
  // Each topo/add carried the sub-device's own token: onenet-local binds only with a sasToken
  // its sub-device's key verifies, so the five binds above show it. The event log keeps none.
  CHECK(requests(cloud, "/thing/sub/topo/add")[0]["payload"]["params"].value("sasToken", "") ==
        "(not logged)");

  // Reporting through pack/post lands on each sub-device.
  std::vector<onenet::gateway::SubReport> reports;
  for (int i = 1; i <= 5; ++i) {
    reports.push_back({kSubProduct,
                       "node-" + std::to_string(i),
                       {{"temperature", {{"value", 20.0 + i}}}},
                       json::object()});
  }
  REQUIRE(rig.report_and_wait(reports, false) == Status::kOk);
  const json props = cloud.curl(
      "GET", "/thingmodel/query-device-property?product_id=DemoProd01&device_name=node-4");
  REQUIRE(props["data"].is_array());
  CHECK(props["data"][0].value("identifier", "") == "temperature");
  CHECK(props["data"][0]["value"] == 24.0);

  // A property set and a service call from the HTTP API reach the right handler, and their
  // answers come back to the caller.
  const json set = rig.http_while_polling(
      "POST", "/thingmodel/set-device-property",
      {{"product_id", kSubProduct}, {"device_name", "node-4"}, {"params", {{"interval", 30}}}});
  CHECK(set.value("code", -1) == 0);
  REQUIRE(rig.nodes[3].sets.size() == 1);
  CHECK(rig.nodes[3].sets[0] == json{{"interval", 30}});
  CHECK(rig.nodes[2].sets.empty());
  const json call = rig.http_while_polling("POST", "/thingmodel/call-service",
                                           {{"product_id", kSubProduct},
                                            {"device_name", "node-5"},
                                            {"identifier", "reboot"},
                                            {"params", {{"delay", 3}}}});
  CHECK(call.value("code", -1) == 0);
  CHECK(call["data"]["result"] == "reboot in 3 s");
  // A live property get goes the same way and returns the handler's values.
  const json live = rig.http_while_polling(
      "POST", "/thingmodel/query-device-property-live",
      {{"product_id", kSubProduct}, {"device_name", "node-2"}, {"params", {"temperature"}}});
  CHECK(live.value("code", -1) == 0);
  CHECK(live["data"]["temperature"] == 21.5);
  // The sub-device's thing model is enforced by the gateway before the handler runs.
  const json refused = rig.http_while_polling(
      "POST", "/thingmodel/set-device-property",
      {{"product_id", kSubProduct}, {"device_name", "node-4"}, {"params", {{"interval", 0}}}});
  CHECK(refused.value("code", 0) != 0);
  CHECK(rig.nodes[3].sets.size() == 1);

  // Unbind node-1: it leaves the topology, shows offline, and can no longer log in.
  REQUIRE(rig.gateway.unbind(kSubProduct, "node-1") == Status::kOk);
  REQUIRE(rig.poll_until(
      [&] { return rig.gateway.state(kSubProduct, "node-1") == SubState::kUnknown; }));
  CHECK(rig.presence(kSubProduct, "node-1") == 0);
  CHECK(rig.gateway.online_count() == 4);
  REQUIRE(rig.gateway.login(kSubProduct, "node-1") == Status::kOk);
  REQUIRE(rig.poll_until(
      [&] { return rig.gateway.state(kSubProduct, "node-1") == SubState::kRefused; }));
  CHECK(rig.nodes[0].last_reply.code == 403);

  // topo/get lists the four still bound.
  std::set<std::string> listed;
  Status got = Status::kInternalError;
  REQUIRE(rig.gateway.get_topology([&](Status s, const auto& list) {
    got = s;
    for (const auto& [product, name] : list) listed.insert(product + "/" + name);
  }) == Status::kOk);
  REQUIRE(rig.poll_until([&] { return got != Status::kInternalError; }));
  CHECK(got == Status::kOk);
  CHECK(listed == std::set<std::string>{"DemoProd01/node-2", "DemoProd01/node-3",
                                        "DemoProd01/node-4", "DemoProd01/node-5"});
  REQUIRE(rig.poll_until([&] { return !requests(cloud, "/thing/sub/topo/get/result").empty(); }));

  // The cloud unbinds node-2 on its side: topo/change tells the gateway, which forgets it.
  size_t changed_to = 0;
  rig.gateway.on_topology_change([&](Status, const auto& list) { changed_to = list.size() + 100; });
  const json unbound =
      cloud.curl("POST", "/local/sub-device/unbind",
                 json{{"product_id", kSubProduct}, {"device_name", "node-2"}}.dump());
  CHECK(unbound.value("code", -1) == 0);
  REQUIRE(rig.poll_until([&] { return changed_to != 0; }));
  CHECK(changed_to == 103);
  CHECK(rig.gateway.state(kSubProduct, "node-2") == SubState::kUnknown);
  CHECK(rig.gateway.online_count() == 3);
  CHECK(rig.presence(kSubProduct, "node-2") == 0);

  // Logout: node-3 stays bound but goes offline, on both sides.
  REQUIRE(rig.gateway.logout(kSubProduct, "node-3") == Status::kOk);
  REQUIRE(
      rig.poll_until([&] { return rig.gateway.state(kSubProduct, "node-3") == SubState::kBound; }));
  CHECK(rig.presence(kSubProduct, "node-3") == 0);
  CHECK(rig.gateway.online_count() == 2);
  CHECK(requests(cloud, "/thing/sub/logout").size() == 1);

  // Deleting a bound sub-device tells its gateway too (it went on logging in a device gone).
  changed_to = 0;
  CHECK(cloud
            .curl("POST", "/device/delete",
                  json{{"product_id", kSubProduct}, {"device_name", "node-4"}}.dump())
            .value("code", -1) == 0);
  REQUIRE(rig.poll_until([&] { return changed_to != 0; }));
  CHECK(changed_to == 102);  // node-3 (logged out, still bound) and node-5 are left
  CHECK(rig.gateway.state(kSubProduct, "node-4") == SubState::kUnknown);
  CHECK(rig.gateway.online_count() == 1);
  CHECK(cloud.stop());
}

TEST_CASE("gateway: an unbound sub-device is refused, and so is reporting for it") {
  OnenetLocal cloud(seeds(2));
  REQUIRE(cloud.start());
  Rig rig(cloud);
  rig.add_nodes(2);
  REQUIRE(rig.start());
  REQUIRE(rig.gateway.login(kSubProduct, "node-1") == Status::kOk);  // never bound
  REQUIRE(rig.poll_until(
      [&] { return rig.gateway.state(kSubProduct, "node-1") == SubState::kRefused; }));
  CHECK(rig.nodes[0].last_reply.code == 403);
  CHECK(rig.nodes[0].last_reply.msg.find("not bound") != std::string::npos);
  CHECK(rig.presence(kSubProduct, "node-1") == 2);

  onenet::model::Reply reply;
  CHECK(rig.report_and_wait(
            {{kSubProduct, "node-2", {{"temperature", {{"value", 1.0}}}}, json::object()}}, false,
            &reply) == Status::kModelInvalidValue);
  CHECK(reply.code == 403);
  // Sub-devices the gateway does not know, and values the thing model refuses, never leave it.
  CHECK(rig.gateway.report(
            {{kSubProduct, "stranger", {{"temperature", {{"value", 1.0}}}}, json::object()}}, false,
            nullptr) == Status::kInvalidArgument);
  CHECK(rig.gateway.report(
            {{kSubProduct, "node-2", {{"temperature", {{"value", "hot"}}}}, json::object()}}, false,
            nullptr) == Status::kModelInvalidValue);
  CHECK(rig.gateway.last_error().find("temperature") != std::string::npos);
  CHECK(requests(cloud, "/thing/pack/post").size() == 1);
  CHECK(cloud.stop());
}

TEST_CASE("gateway: a bind beyond the cloud's sub-device limit is refused, the others stand") {
  // OneNET's limit is 1500 a gateway; --max-subdevices lowers it so a test can reach it.
  std::vector<std::string> args = seeds(3);
  args.insert(args.end(), {"--max-subdevices", "2"});
  OnenetLocal cloud(args);
  REQUIRE(cloud.start());
  Rig rig(cloud);
  rig.add_nodes(3);
  REQUIRE(rig.start());
  rig.gateway.bind_and_login_all();
  REQUIRE(rig.poll_until([&] {
    return rig.gateway.online_count() == 2 &&
           rig.gateway.state(kSubProduct, "node-3") == SubState::kRefused;
  }));
  CHECK(rig.nodes[2].last_reply.code == 400);
  CHECK(rig.nodes[2].last_reply.msg == "a gateway binds at most 2 sub-devices");
  CHECK(rig.presence(kSubProduct, "node-3") == 2);  // never online
  CHECK(cloud.stop());
}

TEST_CASE("gateway: reports are split at 10 devices and 100 points per message") {
  OnenetLocal cloud(seeds(12, kRawProduct));
  REQUIRE(cloud.start());
  Rig rig(cloud);
  rig.add_nodes(12);
  REQUIRE(rig.start());
  rig.gateway.bind_and_login_all();
  REQUIRE(rig.poll_until([&] { return rig.gateway.online_count() == 12; }));

  // 12 devices; node-1 with 150 points: 13 entries, node-1 twice, so 2 messages.
  std::vector<onenet::gateway::SubReport> reports;
  for (int i = 1; i <= 12; ++i) {
    onenet::gateway::SubReport r{kRawProduct, "node-" + std::to_string(i), json::object(),
                                 json::object()};
    const int points = i == 1 ? 150 : 1;
    for (int p = 0; p < points; ++p) r.properties["p" + std::to_string(p)] = {{"value", p}};
    reports.push_back(r);
  }
  REQUIRE(rig.report_and_wait(reports, false) == Status::kOk);
  const auto packs = requests(cloud, "/thing/pack/post");
  REQUIRE(packs.size() == 2);
  size_t entries = 0;
  for (const json& pack : packs) {
    const json& params = pack["payload"]["params"];
    CHECK(params.size() <= 10);
    std::set<std::string> names;
    for (const json& entry : params) {
      CHECK(entry["properties"].size() + entry["events"].size() <= 100);
      names.insert(entry["identity"].value("deviceName", ""));
      ++entries;
    }
    CHECK(names.size() == params.size());  // a device at most once per message
  }
  CHECK(entries == 13);
  const json node1 = cloud.curl(
      "GET", "/thingmodel/query-device-property?product_id=RawProd001&device_name=node-1");
  CHECK(node1["data"].size() == 150);

  // History: 250 values of one point become 3 entries of at most 100 values.
  onenet::gateway::SubReport history{kRawProduct, "node-3", json::object(), json::object()};
  json values = json::array();
  for (int v = 0; v < 250; ++v) values.push_back({{"value", v}, {"time", 1700000000000 + v}});
  history.properties["level"] = values;
  REQUIRE(rig.report_and_wait({history}, true) == Status::kOk);
  const auto histories = requests(cloud, "/thing/history/post");
  REQUIRE(histories.size() == 3);
  for (const json& h : histories)
    CHECK(h["payload"]["params"][0]["properties"]["level"].size() <= 100);
  const json node3 = cloud.curl(
      "GET", "/thingmodel/query-device-property?product_id=RawProd001&device_name=node-3");
  bool latest = false;
  for (const json& p : node3["data"])
    latest |= p.value("identifier", "") == "level" && p["value"] == 249;
  CHECK(latest);
  CHECK(cloud.stop());
}

TEST_CASE("gateway: after the gateway's link drops, every sub-device comes back online by itself") {
  constexpr int kSubs = 20;
  OnenetLocal cloud(seeds(kSubs));
  REQUIRE(cloud.start());
  Rig rig(cloud);
  rig.add_nodes(kSubs);
  REQUIRE(rig.start());
  rig.gateway.bind_and_login_all();
  REQUIRE(rig.poll_until([&] { return rig.gateway.online_count() == kSubs; }));
  CHECK(rig.presence(kSubProduct, "node-7") == 1);

  // Another client logs in as the gateway: the cloud kicks our connection (second login wins),
  // then the intruder leaves. Our gateway reconnects on its own.
  const std::string token = OnenetLocal::token(
      std::string("products/") + kGatewayProduct + "/devices/gw-1", cloud.device_key(0));
  REQUIRE(itest::run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(cloud.port()), "-i",
                      "gw-1", "-u", kGatewayProduct, "-P", token, "-t",
                      "$sys/GwProd0001/gw-1/thing/property/post", "-m",
                      R"({"id":"1","params":{}})"}) == 0);
  REQUIRE(rig.poll_until([&] { return rig.gateway.online_count() < kSubs; }));
  REQUIRE(rig.poll_until([&] {
    return rig.gateway.device().state() == onenet::client::State::kConnected &&
           rig.gateway.online_count() == kSubs;
  }));
  // Every sub-device logged in again (20 before, 20 after) and the cloud shows them online:
  // onenet-local counts a login only if it came after the gateway's latest connection.
  CHECK(requests(cloud, "/thing/sub/login").size() == 2 * kSubs);
  for (int i = 1; i <= kSubs; ++i)
    CHECK(rig.presence(kSubProduct, "node-" + std::to_string(i)) == 1);
  CHECK(requests(cloud, "/thing/sub/topo/add").size() == kSubs);  // bindings are not repeated
  CHECK(cloud.stop());
}

namespace {

// onenet-cli provision writes `count` SensorProd sub-devices (`prefix`1..N) to `file` (CSV, or
// JSON for *.json), and onenet-gateway (gw-1) starts with them and `flags`.
std::unique_ptr<itest::Process> provision_and_start_gateway(const OnenetLocal& cloud,
                                                            const std::string& file, int count,
                                                            const std::string& prefix,
                                                            std::vector<std::string> flags) {
  REQUIRE(itest::run({"env", "ONENET_API=" + cloud.http(),
                      "ONENET_USER_ID=" + cloud.info["user"]["id"].get<std::string>(),
                      "ONENET_ACCESS_KEY=" + cloud.info["user"]["access_key"].get<std::string>(),
                      ONENET_CLI_PATH, "provision", "--product", "SensorProd", "--count",
                      std::to_string(count), "--prefix", prefix, "--out", file},
                     60000) == 0);
  std::vector<std::string> argv = {ONENET_GATEWAY_PATH,
                                   "--port",
                                   std::to_string(cloud.port()),
                                   "--product",
                                   kGatewayProduct,
                                   "--device",
                                   "gw-1",
                                   "--key",
                                   cloud.device_key(0),
                                   "--subdevices-file",
                                   file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return itest::Process::start(argv);
}

}  // namespace

TEST_CASE(
    "onenet-gateway sample: provisioned sub-devices online, reporting, answering; clean exit") {
  OnenetLocal cloud({"--seed-device", std::string(kGatewayProduct) + "/gw-1"});
  REQUIRE(cloud.start());
  itest::TempDir dir;
  const std::string file = dir.file("fleet.csv");
  // The documented path: onenet-cli provision writes the file the gateway reads.
  auto gateway = provision_and_start_gateway(cloud, file, 30, "sensor-",
                                             {"--interval", "1", "--logins-per-second", "200"});
  REQUIRE(gateway);
  auto has = [](const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  };
  REQUIRE(gateway->wait_for_line(has("all 30 sub-devices online"), 30000));
  REQUIRE(gateway->wait_for_line(has("reported 30 sub-devices: reply 200"), 30000));
  const json detail =
      cloud.curl("GET", "/device/detail?product_id=SensorProd&device_name=sensor-17");
  CHECK(detail["data"].value("status", -1) == 1);
  const json props = cloud.curl(
      "GET", "/thingmodel/query-device-property?product_id=SensorProd&device_name=sensor-17");
  CHECK(props["data"].size() == 2);  // temperature and humidity

  auto set = std::async(std::launch::async, [&] {
    return cloud.curl("POST", "/thingmodel/set-device-property",
                      json{{"product_id", "SensorProd"},
                           {"device_name", "sensor-5"},
                           {"params", {{"interval", 9}}}}
                          .dump());
  });
  CHECK(gateway->wait_for_line(has("sensor-5: property set interval = 9 s"), 20000));
  CHECK(set.get().value("code", -1) == 0);

  gateway->signal(SIGTERM);
  CHECK(gateway->wait_for_line(has("disconnected"), 20000));
  CHECK(gateway->wait(20000) == 0);
  // Its output names no key (its own, or a sub-device's from the file) and no token (sasTokens
  // included).
  const std::string output = gateway->transcript() + gateway->remaining();
  CHECK(output.find("all 30 sub-devices online") != std::string::npos);  // all of it is here
  std::vector<std::string> secrets = {cloud.device_key(0), "sign="};
  std::istringstream rows(itest::read_file(file));
  for (std::string row; std::getline(rows, row);) {
    if (row.rfind("SensorProd,", 0) == 0) secrets.push_back(row.substr(row.rfind(',') + 1));
  }
  CHECK(secrets.size() == 32);
  for (const std::string& secret : secrets) {
    CAPTURE(secret);
    CHECK(output.find(secret) == std::string::npos);
  }
  // Left cleanly: the cloud shows the gateway, and so its sub-devices, offline.
  CHECK(
      cloud.curl("GET", "/device/detail?product_id=SensorProd&device_name=sensor-17")["data"].value(
          "status", -1) == 0);

  // A file that is not a sub-device list: one line, exit 2.
  itest::write_file(dir.file("bad.csv"), "product_id,device_name,key\nonly-two,fields\n");
  std::string out;
  CHECK(itest::run({ONENET_GATEWAY_PATH, "--product", "P", "--device", "d", "--key",
                    cloud.device_key(0), "--subdevices-file", dir.file("bad.csv")},
                   30000, &out) == 2);
  CHECK(out ==
        "onenet-gateway: " + dir.file("bad.csv") + ":2: expected product_id,device_name,key\n");
  // A CA it cannot load stops it, where it used to retry forever.
  CHECK(itest::run({ONENET_GATEWAY_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kGatewayProduct, "--device", "gw-1", "--key", cloud.device_key(0),
                    "--subdevices-file", file, "--tls", "--cafile", "/nonexistent/ca.pem"},
                   30000, &out) == 1);
  CHECK(out.find("stopped: TLS: the CA certificate could not be loaded") != std::string::npos);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-gateway sample: a JSON sub-device file works; files it cannot use are one line") {
  OnenetLocal cloud({"--seed-device", std::string(kGatewayProduct) + "/gw-1"});
  REQUIRE(cloud.start());
  itest::TempDir dir;
  const std::string file = dir.file("fleet.json");
  auto gateway = provision_and_start_gateway(cloud, file, 3, "node-", {});
  REQUIRE(gateway);
  CHECK(gateway->wait_for_line(
      [](const std::string& l) { return l.find("all 3 sub-devices online") != std::string::npos; },
      30000));
  gateway->signal(SIGTERM);
  CHECK(gateway->wait(20000) == 0);

  const std::pair<std::string, std::string> bad[] = {
      {"", "cannot read " + dir.file("sub") + " (or it is empty)"},
      {"[{\"device_name\": \"a\",", dir.file("sub") + ": not valid JSON"},
      {R"([{"device_name": "a"}])",
       dir.file("sub") + ": each entry needs product_id, device_name and key"},
      {R"([{"product_id": "SensorProd", "device_name": "no spaces", "key": "a2V5"}])",
       dir.file("sub") + ": sub-device 'SensorProd/no spaces': product id and device name are 1 "
                         "to 64"},
  };
  for (const auto& entry : bad) {  // not a structured binding: CAPTURE's lambda takes it
    const std::string& text = entry.first;
    const std::string& said = entry.second;
    CAPTURE(text);
    itest::write_file(dir.file("sub"), text);
    std::string out;
    CHECK(itest::run({ONENET_GATEWAY_PATH, "--port", std::to_string(cloud.port()), "--product",
                      kGatewayProduct, "--device", "gw-1", "--key", cloud.device_key(0),
                      "--subdevices-file", dir.file("sub")},
                     30000, &out) == 2);
    CHECK(out.rfind("onenet-gateway: " + said, 0) == 0);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  }
  CHECK(cloud.stop());
}

TEST_CASE(
    "onenet-gateway sample: a stop during a connect that hangs ends the attempt, and says so") {
  itest::SilentListener listener(true);  // SYNs to it are dropped: the connect hangs
  itest::TempDir dir;
  const std::string file = dir.file("one.csv");
  itest::write_file(file,
                    "product_id,device_name,key\nSubP,s1,KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/"
                    "ABmfA1UCw=\n");
  auto gateway = itest::Process::start(
      {ONENET_GATEWAY_PATH, "--port", std::to_string(listener.port()), "--product", "GwP",
       "--device", "gw", "--key",
       "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "--subdevices-file", file});
  REQUIRE(gateway);
  auto has = [](const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  };
  REQUIRE(gateway->wait_for_line(has("with 1 sub-devices"), 20000));
  REQUIRE(listener.wait_for_connect_attempt());
  gateway->signal(SIGTERM);
  // Not the connect timeout's "timed out": the stop cancelled the attempt.
  CHECK(gateway->wait_for_line(has("stopped before connecting: connection attempt cancelled"),
                               20000));
  CHECK(gateway->wait(20000) == 0);
}
