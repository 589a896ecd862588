// Provisioning through OneNET's HTTP API (sdk/provision and onenet-cli device/provision) against
// onenet-local. The failure paths against bare loopback servers are in client_provision.cpp.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "live_device.hpp"
#include "onenet/model/device.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet/provision/api_client.hpp"
#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::Process;
using itest::run;
using nlohmann::json;
using onenet::Status;
using onenet::provision::ApiClient;
using onenet::provision::ApiOptions;
using onenet::provision::DeviceInfo;

namespace {

ApiOptions user_options(const OnenetLocal& local) {
  ApiOptions o;
  o.api_url = local.http();
  o.resource = "userid/" + local.info["user"]["id"].get<std::string>();
  o.access_key = local.info["user"]["access_key"].get<std::string>();
  o.hmac = onenet::platform::default_hmac();
  return o;
}

std::unique_ptr<ApiClient> make_client(ApiOptions o) {
  auto client = ApiClient::create(std::move(o));
  REQUIRE(client.ok());
  return std::move(client.value());
}

// The CLI with the local cloud's user credentials in the environment (as a script sets them).
std::vector<std::string> cli(const OnenetLocal& local, std::vector<std::string> args) {
  std::vector<std::string> argv = {
      "env", "ONENET_API=" + local.http(),
      "ONENET_USER_ID=" + local.info["user"]["id"].get<std::string>(),
      "ONENET_ACCESS_KEY=" + local.info["user"]["access_key"].get<std::string>(), ONENET_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("provision API: create, detail, list and delete a device") {
  OnenetLocal local;
  REQUIRE(local.start());
  auto api = make_client(user_options(local));

  DeviceInfo created;
  REQUIRE(api->create_device("Ck2AF9QD2K", "meter-1", "kitchen", &created) == Status::kOk);
  CHECK(created.name == "meter-1");
  CHECK(created.product_id == "Ck2AF9QD2K");
  CHECK(created.key.size() == 44);  // 32 random bytes, Base64
  CHECK(created.status == 2);       // never connected

  DeviceInfo detail;
  REQUIRE(api->device_detail("Ck2AF9QD2K", "meter-1", &detail) == Status::kOk);
  CHECK(detail.key == created.key);
  CHECK(detail.did == created.did);
  CHECK(detail.desc == "kitchen");

  for (int i = 2; i <= 5; ++i) {
    REQUIRE(api->create_device("Ck2AF9QD2K", "meter-" + std::to_string(i), {}, nullptr) ==
            Status::kOk);
  }
  std::vector<DeviceInfo> listed;
  // Pages of two: five devices need three requests and come back complete.
  const uint64_t before = api->attempts();
  REQUIRE(api->list_devices("Ck2AF9QD2K", &listed, 2) == Status::kOk);
  CHECK(api->attempts() - before == 3);
  std::set<std::string> names;
  for (const DeviceInfo& d : listed) names.insert(d.name);
  CHECK(names == std::set<std::string>{"meter-1", "meter-2", "meter-3", "meter-4", "meter-5"});

  REQUIRE(api->delete_device("Ck2AF9QD2K", "meter-1") == Status::kOk);
  CHECK(api->device_detail("Ck2AF9QD2K", "meter-1", &detail) == Status::kProvisionApiError);
  CHECK(api->last_error().code == 10404);
  CHECK(api->last_error().message == "device not found");
  // Query values are percent-encoded, so any name reaches the API intact.
  CHECK(onenet::provision::query_escape("a b/\xC3\xBC&x=1") == "a%20b%2F%C3%BC%26x%3D1");
  CHECK(local.stop());
}

TEST_CASE("provision API: OneNET's errors come back with their code and message") {
  OnenetLocal local;
  REQUIRE(local.start());
  auto api = make_client(user_options(local));
  REQUIRE(api->create_device("Ck2AF9QD2K", "twice", {}, nullptr) == Status::kOk);
  CHECK(api->create_device("Ck2AF9QD2K", "twice", {}, nullptr) == Status::kProvisionApiError);
  CHECK(api->last_error().code == 10406);
  CHECK(api->last_error().message == "device already exists: Ck2AF9QD2K/twice");

  ApiOptions wrong = user_options(local);
  wrong.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  auto intruder = make_client(wrong);
  CHECK(intruder->create_device("Ck2AF9QD2K", "x", {}, nullptr) ==
        Status::kProvisionBadCredentials);
  CHECK(intruder->last_error().code == 10403);
  CHECK(intruder->attempts() == 1);  // an answer is never retried

  // Text that is not UTF-8 cannot be JSON: refused before anything is sent.
  CHECK(api->create_device("Ck2AF9QD2K", "ok", "caf\xE9", nullptr) == Status::kInvalidArgument);
  CHECK(api->last_error().message.find("UTF-8") != std::string::npos);
  CHECK(api->delete_device("Ck2AF9QD2K", "\xFF") == Status::kInvalidArgument);
  CHECK(api->device_detail("Ck2AF9QD2K", "ok", nullptr) == Status::kProvisionApiError);  // not made

  ApiOptions bad_key = user_options(local);
  bad_key.access_key = "not base64!";
  CHECK(ApiClient::create(bad_key).status() == Status::kAuthMalformedKey);
  ApiOptions bad_url = user_options(local);
  bad_url.api_url = "ftp://127.0.0.1";
  CHECK(ApiClient::create(bad_url).status() == Status::kInvalidArgument);
  CHECK(local.stop());
}

TEST_CASE("provision API: a product-level token manages its own product only") {
  OnenetLocal local({"--seed-device", "Ck2AF9QD2K/seed"});
  REQUIRE(local.start());
  ApiOptions o = user_options(local);
  o.resource = "products/Ck2AF9QD2K";
  o.access_key = local.info["products"][0]["access_key"].get<std::string>();
  o.token_version = "2018-10-31";
  auto api = make_client(o);
  CHECK(api->create_device("Ck2AF9QD2K", "by-product", {}, nullptr) == Status::kOk);
  CHECK(api->create_device("OtherProd1", "by-product", {}, nullptr) ==
        Status::kProvisionBadCredentials);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli device: create, detail, list, delete; errors are one line, keys unprinted") {
  OnenetLocal local;
  REQUIRE(local.start());
  std::string out;
  REQUIRE(run(cli(local, {"device", "create", "--product", "Ck2AF9QD2K", "--name", "cli-1"}), 30000,
              &out) == 0);
  const std::string key = out.substr(0, out.find('\n'));
  CHECK(out == key + "\n");  // the key alone: key=$(onenet-cli device create ...)

  REQUIRE(
      run(cli(local, {"device", "detail", "--product", "Ck2AF9QD2K", "--name", "cli-1", "--json"}),
          30000, &out) == 0);
  const json detail = json::parse(out, nullptr, false);
  CHECK(detail.value("key", "") == key);
  CHECK(detail.value("device_name", "") == "cli-1");

  REQUIRE(run(cli(local, {"device", "create", "--product", "Ck2AF9QD2K", "--name", "cli-2"})) == 0);
  REQUIRE(run(cli(local, {"device", "list", "--product", "Ck2AF9QD2K"}), 30000, &out) == 0);
  CHECK(count_lines(out) == 2);
  CHECK(out.find("cli-1\tnever-connected") != std::string::npos);
  CHECK(out.find("cli-2\tnever-connected") != std::string::npos);

  REQUIRE(run(cli(local, {"device", "delete", "--product", "Ck2AF9QD2K", "--name", "cli-1"}), 30000,
              &out) == 0);
  CHECK(out == "deleted Ck2AF9QD2K/cli-1\n");
  REQUIRE(run(cli(local, {"device", "list", "--product", "Ck2AF9QD2K", "--json"}), 30000, &out) ==
          0);
  CHECK(json::parse(out, nullptr, false).size() == 1);

  // Creating an existing device: OneNET's message, exit 1, one line.
  CHECK(run(cli(local, {"device", "create", "--product", "Ck2AF9QD2K", "--name", "cli-2"}), 30000,
            &out) == 1);
  CHECK(out ==
        "onenet-cli device create: device already exists: Ck2AF9QD2K/cli-2 (OneNET code 10406)\n");

  // A wrong access key: exit 1, one line naming the refusal, and the key is nowhere in it.
  const std::string wrong_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  CHECK(run(cli(local, {"device", "list", "--product", "Ck2AF9QD2K", "--access-key", wrong_key}),
            30000, &out) == 1);
  CHECK(count_lines(out) == 1);
  CHECK(out.rfind("onenet-cli device list: bad credentials:", 0) == 0);
  CHECK(out.find("10403") != std::string::npos);
  CHECK(out.find(wrong_key) == std::string::npos);

  // Bad input: exit 2, one line.
  CHECK(run(cli(local, {"device", "list", "--product", "P", "--access-key", "not base64!"}), 30000,
            &out) == 2);
  CHECK(count_lines(out) == 1);
  CHECK(run({ONENET_CLI_PATH, "device", "list", "--product", "P", "--api", local.http()}, 30000,
            &out) == 2);
  CHECK(out.find("--user-id") != std::string::npos);
  // A dead API: exit 1, one line naming the URL.
  CHECK(run(cli(local, {"device", "list", "--product", "P", "--retries", "0", "--api",
                        "http://127.0.0.1:" + std::to_string(itest::free_port())}),
            30000, &out) == 1);
  CHECK(count_lines(out) == 1);
  CHECK(out.find("cannot reach the API") != std::string::npos);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli device: credentials from a config file") {
  OnenetLocal local;
  REQUIRE(local.start());
  itest::TempDir dir;
  itest::write_file(dir.file("onenet.json"), json{{"api", local.http()},
                                                  {"user_id", local.info["user"]["id"]},
                                                  {"access_key", local.info["user"]["access_key"]}}
                                                 .dump());
  std::string out;
  CHECK(run({ONENET_CLI_PATH, "device", "create", "--product", "Ck2AF9QD2K", "--name", "cfg",
             "--config", dir.file("onenet.json")},
            30000, &out) == 0);
  CHECK(run({"env", "ONENET_CONFIG=" + dir.file("onenet.json"), ONENET_CLI_PATH, "device", "detail",
             "--product", "Ck2AF9QD2K", "--name", "cfg"},
            30000, &out) == 0);
  CHECK(out.find("device_name cfg") != std::string::npos);

  // The user id as the console shows it, digits written as a JSON number: taken.
  const std::string user_id = local.info["user"]["id"].get<std::string>();
  itest::write_file(dir.file("numeric.json"), json{{"api", local.http()},
                                                   {"user_id", std::stoull(user_id)},
                                                   {"access_key", local.info["user"]["access_key"]}}
                                                  .dump());
  CHECK(run({ONENET_CLI_PATH, "device", "detail", "--product", "Ck2AF9QD2K", "--name", "cfg",
             "--config", dir.file("numeric.json")},
            30000, &out) == 0);
  // A member of the wrong type is named, not skipped (it surfaced as "missing" before).
  itest::write_file(dir.file("wrong.json"),
                    json{{"api", local.http()}, {"user_id", user_id}, {"access_key", 7}}.dump());
  CHECK(run({ONENET_CLI_PATH, "device", "detail", "--product", "Ck2AF9QD2K", "--name", "cfg",
             "--config", dir.file("wrong.json")},
            30000, &out) == 2);
  CHECK(out.find("access_key must be a string") != std::string::npos);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli: a created device connects over MQTT with its key") {
  OnenetLocal local;
  REQUIRE(local.start());
  std::string key;
  REQUIRE(run(cli(local, {"device", "create", "--product", "Ck2AF9QD2K", "--name", "fresh"}), 30000,
              &key) == 0);
  key.pop_back();
  const std::string topic = "$sys/Ck2AF9QD2K/fresh/thing/property/post";
  std::string out;
  CHECK(run({ONENET_CLI_PATH, "pub", "--port", std::to_string(local.port()), "--product",
             "Ck2AF9QD2K", "--device", "fresh", "--key", key, "--topic", topic, "--qos", "1",
             "--message", R"({"id":"1","params":{}})"},
            30000, &out) == 0);
  // The cloud logged the device in under that name.
  bool logged_in = false;
  for (const json& e : local.events()) {
    if (e.value("event", "") == "connect" && e.value("device_name", "") == "fresh" &&
        e.value("result", "") == "accepted") {
      logged_in = true;
    }
  }
  CHECK(logged_in);
  // And a key that is not the device's own is refused.
  CHECK(run({ONENET_CLI_PATH, "pub", "--port", std::to_string(local.port()), "--product",
             "Ck2AF9QD2K", "--device", "fresh", "--key",
             "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "--topic", topic, "--message", "{}"},
            30000, &out) != 0);

  // Raw MQTT (no --product: the generic profile) to a filter outside the device's topics: the
  // cloud refuses it in the SUBACK, and the CLI says so, not "ok".
  std::string token;
  REQUIRE(
      run({ONENET_CLI_PATH, "token", "--product", "Ck2AF9QD2K", "--device", "fresh", "--key", key},
          30000, &token) == 0);
  token.pop_back();
  CHECK(run({ONENET_CLI_PATH, "sub", "--port", std::to_string(local.port()), "--client-id", "fresh",
             "--username", "Ck2AF9QD2K", "--password", token, "--topic", "other/#", "--timeout",
             "20"},
            30000, &out) == 1);
  CHECK(out.find("subscription to other/# refused") != std::string::npos);
  CHECK(out.find("the broker refused the subscription") != std::string::npos);
  CHECK(local.stop());
}

TEST_CASE(
    "onenet-cli provision: 200 devices, interrupted and run again, exactly 200 and a whole file") {
  OnenetLocal local;
  REQUIRE(local.start());
  itest::TempDir dir;
  const std::string out_file = dir.file("fleet.csv");
  const auto provision = cli(local, {"provision", "--product", "FleetProd1", "--count", "200",
                                     "--prefix", "sensor", "--out", out_file});
  {
    auto first = Process::start(provision, true);
    REQUIRE(first);
    // Killed hard once 60 devices exist: no chance to clean up.
    REQUIRE(first->wait_for_line(
        [](const std::string& l) { return l.find("(60/200)") != std::string::npos; }, 60000));
    first->signal(SIGKILL);
    first->wait(10000);
  }
  auto api = make_client(user_options(local));
  std::vector<DeviceInfo> partial;
  REQUIRE(api->list_devices("FleetProd1", &partial) == Status::kOk);
  CHECK(partial.size() >= 60);
  CHECK(partial.size() < 200);
  CHECK_FALSE(std::ifstream(out_file).good());  // never a half-written file

  std::string log;
  REQUIRE(run(provision, 120000, &log) == 0);
  CHECK(log.find("200 devices in " + out_file) != std::string::npos);
  CHECK(log.find("already existed") != std::string::npos);

  std::vector<DeviceInfo> all;
  REQUIRE(api->list_devices("FleetProd1", &all) == Status::kOk);
  CHECK(all.size() == 200);
  std::map<std::string, std::string> cloud_keys;
  for (const DeviceInfo& d : all) cloud_keys[d.name] = d.key;

  const std::string csv = itest::read_file(out_file);
  std::istringstream lines(csv);
  std::string line;
  REQUIRE(std::getline(lines, line));
  CHECK(line == "product_id,device_name,key");
  size_t rows = 0;
  std::set<std::string> seen;
  while (std::getline(lines, line)) {
    ++rows;
    const size_t a = line.find(',');
    const size_t b = line.find(',', a + 1);
    REQUIRE(b != std::string::npos);
    const std::string name = line.substr(a + 1, b - a - 1);
    CHECK(line.substr(0, a) == "FleetProd1");
    CHECK(cloud_keys[name] == line.substr(b + 1));
    CHECK(name == "sensor" + std::to_string(rows));
    seen.insert(name);
  }
  CHECK(rows == 200);
  CHECK(seen.size() == 200);

  // A third run changes nothing and writes the same file (JSON this time, by extension).
  const std::string json_file = dir.file("fleet.json");
  REQUIRE(run(cli(local, {"provision", "--product", "FleetProd1", "--count", "200", "--prefix",
                          "sensor", "--out", json_file}),
              120000, &log) == 0);
  CHECK(log.find("(0 created, 200 already existed)") != std::string::npos);
  const json fleet = json::parse(itest::read_file(json_file), nullptr, false);
  REQUIRE(fleet.is_array());
  CHECK(fleet.size() == 200);
  CHECK(fleet[199].value("key", "") == cloud_keys["sensor200"]);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli provision: names and the output file are checked before anything is made") {
  OnenetLocal local;
  REQUIRE(local.start());
  itest::TempDir dir;
  auto api = make_client(user_options(local));
  const auto devices_of = [&](const std::string& product) {
    std::vector<DeviceInfo> list;
    REQUIRE(api->list_devices(product, &list) == Status::kOk);
    return list.size();
  };
  std::string log;
  // Before, the devices were made and then the file could not be written.
  CHECK(run(cli(local, {"provision", "--product", "FleetProd2", "--count", "3", "--prefix", "s",
                        "--out", dir.file("missing/dir.csv")}),
            60000, &log) == 1);
  CHECK(log.find("cannot write " + dir.file("missing/dir.csv") +
                 ".partial (nothing was created)") != std::string::npos);
  CHECK(devices_of("FleetProd2") == 0);
  // Names the cloud would refuse one by one: a space, and "s1000" past 64 characters.
  CHECK(run(cli(local, {"provision", "--product", "FleetProd2", "--count", "3", "--prefix",
                        "bad prefix", "--out", dir.file("a.csv")}),
            60000, &log) == 2);
  CHECK(log.find("--prefix: device names bad prefix1..bad prefix3 must be 1 to 64 letters") !=
        std::string::npos);
  const std::string long_prefix(61, 'x');
  CHECK(run(cli(local, {"provision", "--product", "FleetProd2", "--count", "1000", "--prefix",
                        long_prefix, "--out", dir.file("a.csv")}),
            60000, &log) == 2);
  CHECK(log.find(long_prefix + "1000 must be") != std::string::npos);
  CHECK(devices_of("FleetProd2") == 0);
  // The cloud's refusal is reported in its own words. It was followed by detail's "not found".
  CHECK(run(cli(local, {"provision", "--product", "bad product", "--count", "1", "--prefix", "s",
                        "--out", dir.file("a.csv")}),
            60000, &log) == 1);
  CHECK(log.find("s1: product_id and device_name: 1-64 letters, digits, '_' or '-' (OneNET code "
                 "10400)") != std::string::npos);
  CHECK(log.find("not found") == std::string::npos);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli provision: a progress bar on a terminal") {
  OnenetLocal local;
  REQUIRE(local.start());
  itest::TempDir dir;
  // script(1) gives the command a pseudo-terminal, as a person at a shell would have.
  const std::string command =
      "ONENET_API=" + local.http() +
      " ONENET_USER_ID=" + local.info["user"]["id"].get<std::string>() +
      " ONENET_ACCESS_KEY=" + local.info["user"]["access_key"].get<std::string>() + " " +
      ONENET_CLI_PATH + " provision --product TtyProd001 --count 5 --prefix t --out " +
      dir.file("t.csv");
  std::string out;
  REQUIRE(run({"script", "-qec", command, "/dev/null"}, 60000, &out) == 0);
  CHECK(out.find("\r[########") != std::string::npos);
  CHECK(out.find("5/5") != std::string::npos);
  CHECK(out.find("t3 created") == std::string::npos);  // no per-device lines on a terminal
  CHECK(local.stop());
}

namespace {

// onenet-local with the telemetry sample's product, and the sample running as its device
// (reports every second; answers property/set of its interval and the reboot service).
struct TelemetryRig {
  OnenetLocal local{{"--seed-device", "Ck2AF9QD2K/sensor-1", "--tsl",
                     "Ck2AF9QD2K=" ONENET_SOURCE_DIR "/samples/telemetry/thing-model.json"}};
  std::unique_ptr<Process> device;

  void start_device() {
    device = Process::start({ONENET_TELEMETRY_PATH, "--port", std::to_string(local.port()),
                             "--product", "Ck2AF9QD2K", "--device", "sensor-1", "--key",
                             local.device_key(), "--interval", "1", "--tsl",
                             ONENET_SOURCE_DIR "/samples/telemetry/thing-model.json"});
    REQUIRE(device);
    REQUIRE(device->wait_for_line(said("reported temperature"), 20000));
  }
  // Stops the device; returns what it logged since the last line a test waited for.
  std::string stop_device() {
    device->signal(SIGTERM);
    CHECK(device->wait(20000) == 0);
    std::string rest;
    for (std::string line; device->read_line(&line, 5000);) rest += line + "\n";
    rest += device->remaining();
    device.reset();
    return rest;
  }
  static std::function<bool(const std::string&)> said(const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  }
};

}  // namespace

TEST_CASE("thing-model API: read, set and call on a running device; refusals carry OneNET's code") {
  TelemetryRig rig;
  REQUIRE(rig.local.start());
  auto api = make_client(user_options(rig.local));

  // Offline: OneNET refuses at once, nothing reaches a device.
  CHECK(api->set_device_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":2})") ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 10408);
  CHECK(api->last_error().message == "device is offline");

  rig.start_device();
  std::vector<onenet::provision::PropertyValue> values;
  REQUIRE(api->query_device_properties("Ck2AF9QD2K", "sensor-1", &values) == Status::kOk);
  std::map<std::string, onenet::provision::PropertyValue> by_id;
  for (const auto& v : values) by_id[v.identifier] = v;
  REQUIRE(by_id.count("temperature") == 1);
  CHECK(json::parse(by_id["temperature"].value_json, nullptr, false).is_number_float());
  CHECK(by_id["temperature"].time_ms > 0);
  CHECK(by_id["temperature"].data_type == "float");
  CHECK(by_id["interval"].value_json == "1");

  CHECK(api->set_device_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":2})") == Status::kOk);
  CHECK(rig.device->wait_for_line(TelemetryRig::said("property set: interval = 2 s"), 20000));
  // The device reports the new interval with its next report; the cloud then holds it.
  CHECK(rig.device->wait_for_line(TelemetryRig::said("reported temperature"), 20000));
  values.clear();
  REQUIRE(api->query_device_properties("Ck2AF9QD2K", "sensor-1", &values) == Status::kOk);
  CHECK(std::any_of(values.begin(), values.end(), [](const auto& v) {
    return v.identifier == "interval" && v.value_json == "2";
  }));

  std::string output;
  CHECK(api->call_service("Ck2AF9QD2K", "sensor-1", "reboot", R"({"delay":3})", &output) ==
        Status::kOk);
  CHECK(json::parse(output, nullptr, false) == json{{"result", "rebooting in 3 s"}});
  CHECK(rig.device->wait_for_line(TelemetryRig::said("service reboot called (delay 3 s)"), 20000));

  // The thing model's refusals, in OneNET's words, with nothing passed to the device.
  CHECK(api->set_device_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":0})") ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 10412);
  CHECK(api->last_error().message.find("below the minimum") != std::string::npos);
  CHECK(api->call_service("Ck2AF9QD2K", "sensor-1", "self_destruct", "", &output) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().message.find("unknown service") != std::string::npos);
  CHECK(api->set_device_properties("Ck2AF9QD2K", "ghost", R"({"interval":2})") ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 10404);
  // The refused commands never reached the device: after the call it saw no other command.
  const std::string rest = rig.stop_device();
  CHECK(rest.find("property set") == std::string::npos);
  CHECK(rest.find("service") == std::string::npos);
  CHECK(rig.local.stop());
}

TEST_CASE("onenet-cli thing: properties, set and call; errors are one line") {
  TelemetryRig rig;
  REQUIRE(rig.local.start());
  std::string out;
  const std::vector<std::string> device = {"--product", "Ck2AF9QD2K", "--name", "sensor-1"};
  const auto thing = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "thing");
    args.insert(args.end(), device.begin(), device.end());
    return cli(rig.local, args);
  };

  CHECK(run(thing({"set", "--params", R"({"interval":2})"}), 30000, &out) == 1);
  CHECK(out == "onenet-cli thing set: device is offline (OneNET code 10408)\n");

  rig.start_device();
  REQUIRE(run(thing({"properties"}), 30000, &out) == 0);
  CHECK(out.find("interval\t1\t20") != std::string::npos);  // value, then the time in UTC
  CHECK(out.find("temperature\t") != std::string::npos);
  REQUIRE(run(thing({"properties", "--json"}), 30000, &out) == 0);
  const json listed = json::parse(out, nullptr, false);
  REQUIRE(listed.is_array());
  CHECK(std::any_of(listed.begin(), listed.end(), [](const json& p) {
    return p.value("identifier", "") == "interval" && p["value"] == 1 &&
           p.value("data_type", "") == "int32";
  }));

  REQUIRE(run(thing({"set", "--params", R"({"interval":2})"}), 30000, &out) == 0);
  CHECK(out == "Ck2AF9QD2K/sensor-1 accepted {\"interval\":2}\n");
  CHECK(rig.device->wait_for_line(TelemetryRig::said("property set: interval = 2 s"), 20000));
  REQUIRE(run(thing({"call", "--service", "reboot", "--params", R"({"delay":3})"}), 30000, &out) ==
          0);
  CHECK(json::parse(out, nullptr, false) == json{{"result", "rebooting in 3 s"}});

  // Refused by the thing model: exit 1, OneNET's words.
  CHECK(run(thing({"set", "--params", R"({"interval":0})"}), 30000, &out) == 1);
  CHECK(count_lines(out) == 1);
  CHECK(out.find("below the minimum 1 (OneNET code 10412)") != std::string::npos);
  CHECK(run(thing({"call", "--service", "reboot", "--params", R"({"delay":"soon"})"}), 30000,
            &out) == 1);
  CHECK(out.find("expected an integer") != std::string::npos);
  // Params that are not an object of values: exit 2, one line, nothing sent.
  for (const char* params : {R"({"interval":)", "[1]", "{}", "7"}) {
    const std::string shown = params;
    CAPTURE(shown);
    CHECK(run(thing({"set", "--params", params}), 30000, &out) == 2);
    CHECK(count_lines(out) == 1);
    CHECK(out.rfind("onenet-cli thing set: set-device-property: params:", 0) == 0);
  }
  CHECK(run(thing({"call", "--params", "{}"}), 30000, &out) == 2);  // no --service
  const std::string rest = rig.stop_device();
  CHECK(rest.find("property set") == std::string::npos);
  CHECK(rig.local.stop());
}

TEST_CASE("desired values: left while the device is away, taken at its login, then deleted") {
  TelemetryRig rig;
  REQUIRE(rig.local.start());
  auto api = make_client(user_options(rig.local));
  const auto desired = [&]() {
    std::vector<onenet::provision::DesiredValue> values;
    REQUIRE(api->query_desired_properties("Ck2AF9QD2K", "sensor-1", {"interval"}, &values) ==
            Status::kOk);
    return values;
  };
  CHECK(desired().empty());
  // No device takes part: set while it is offline, twice; the second is version 2.
  REQUIRE(api->set_desired_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":7})") ==
          Status::kOk);
  REQUIRE(api->set_desired_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":3})") ==
          Status::kOk);
  auto values = desired();
  REQUIRE(values.size() == 1);
  CHECK(values[0].identifier == "interval");
  CHECK(values[0].value_json == "3");
  CHECK(values[0].version == 2);

  // The thing model's refusals: a read-only property, a value out of range, an unknown one.
  CHECK(api->set_desired_properties("Ck2AF9QD2K", "sensor-1", R"({"temperature":20})") ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 10412);
  CHECK(api->set_desired_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":0})") ==
        Status::kProvisionApiError);
  CHECK(api->query_desired_properties("Ck2AF9QD2K", "sensor-1", {"ghost"}, &values) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().message.find("unknown property 'ghost'") != std::string::npos);
  CHECK(values.size() == 1);  // nothing appended
  CHECK(desired()[0].version == 2);

  // The device (its --interval is 1) takes the value at its login and deletes what it applied.
  rig.start_device();
  const auto logged = [&](const std::string& text) {
    return rig.device->transcript().find(text) != std::string::npos ||
           rig.device->wait_for_line(TelemetryRig::said(text), 20000);
  };
  CHECK(logged("desired interval = 3 s (version 2) applied"));
  CHECK(logged("desired interval version 2 deleted"));
  CHECK(desired().empty());
  // Its next reports carry the new interval (the first may have left before it was applied).
  CHECK(rig.device->wait_for_line(TelemetryRig::said("reported temperature"), 20000));
  CHECK(rig.device->wait_for_line(TelemetryRig::said("reported temperature"), 20000));
  std::vector<onenet::provision::PropertyValue> reported;
  REQUIRE(api->query_device_properties("Ck2AF9QD2K", "sensor-1", &reported) == Status::kOk);
  CHECK(std::any_of(reported.begin(), reported.end(), [](const auto& v) {
    return v.identifier == "interval" && v.value_json == "3";
  }));
  CHECK(api->delete_desired_properties("Ck2AF9QD2K", "sensor-1", {"interval"}) == Status::kOk);
  rig.stop_device();

  // Set and deleted by the application before the device came back: it finds none.
  REQUIRE(api->set_desired_properties("Ck2AF9QD2K", "sensor-1", R"({"interval":9})") ==
          Status::kOk);
  REQUIRE(desired().size() == 1);
  REQUIRE(api->delete_desired_properties("Ck2AF9QD2K", "sensor-1", {"interval"}) == Status::kOk);
  CHECK(desired().empty());
  rig.start_device();
  CHECK(logged("no desired interval held"));
  std::string output = rig.device->transcript();
  output += rig.stop_device();
  CHECK(output.find("desired interval =") == std::string::npos);
  CHECK(rig.local.stop());
}

TEST_CASE("onenet-cli thing: desired values set, shown and deleted; errors are one line") {
  TelemetryRig rig;
  REQUIRE(rig.local.start());
  std::string out;
  const auto thing = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "thing");
    for (const char* arg : {"--product", "Ck2AF9QD2K", "--name", "sensor-1"}) args.push_back(arg);
    return cli(rig.local, args);
  };
  REQUIRE(run(thing({"set-desired", "--params", R"({"interval":30})"}), 30000, &out) == 0);
  CHECK(out ==
        "Ck2AF9QD2K/sensor-1: desired {\"interval\":30} (the device takes it when it asks)\n");
  REQUIRE(run(thing({"desired", "--id", "interval"}), 30000, &out) == 0);
  CHECK(out == "interval\t30\tversion 1\n");
  REQUIRE(run(thing({"desired", "--id", "interval", "--json"}), 30000, &out) == 0);
  CHECK(json::parse(out, nullptr, false) ==
        json::parse(R"([{"identifier":"interval","value":30,"version":1}])"));
  REQUIRE(run(thing({"delete-desired", "--id", "interval"}), 30000, &out) == 0);
  CHECK(out == "Ck2AF9QD2K/sensor-1: no desired value for interval\n");
  REQUIRE(run(thing({"desired", "--id", "interval"}), 30000, &out) == 0);
  CHECK(out.empty());

  // Refused by the thing model: exit 1, OneNET's words on one line.
  CHECK(run(thing({"set-desired", "--params", R"({"interval":0})"}), 30000, &out) == 1);
  CHECK(count_lines(out) == 1);
  CHECK(out.find("below the minimum 1 (OneNET code 10412)") != std::string::npos);
  CHECK(run(thing({"desired", "--id", "ghost"}), 30000, &out) == 1);
  CHECK(out == "onenet-cli thing desired: unknown property 'ghost' (OneNET code 10412)\n");
  // Refused before sending: exit 2.
  CHECK(run(thing({"set-desired", "--params", "{}"}), 30000, &out) == 2);
  CHECK(out ==
        "onenet-cli thing set-desired: set-device-desired-property: params: no property "
        "to set\n");
  CHECK(run(thing({"delete-desired", "--id", ""}), 30000, &out) == 2);
  CHECK(out ==
        "onenet-cli thing delete-desired: delete-device-desired-property: an empty "
        "property identifier\n");
  CHECK(run(thing({"desired"}), 30000, &out) == 2);  // --id is required
  CHECK(rig.local.stop());
}

TEST_CASE("property history: a running device's reports and its late history/post, paged") {
  TelemetryRig rig;
  REQUIRE(rig.local.start());
  auto api = make_client(user_options(rig.local));
  const int64_t before_ms = static_cast<int64_t>(std::time(nullptr)) * 1000 - 1000;
  rig.start_device();  // reports every second
  for (int i = 0; i < 2; ++i)
    REQUIRE(rig.device->wait_for_line(TelemetryRig::said("reported temperature"), 20000));
  rig.stop_device();  // three reports answered, at least
  const int64_t after_ms = static_cast<int64_t>(std::time(nullptr)) * 1000 + 1000;

  onenet::provision::HistoryQuery query;
  query.identifier = "temperature";
  query.start_ms = before_ms;
  query.end_ms = after_ms;
  std::vector<onenet::provision::PropertyRecord> records;
  uint64_t total = 0;
  REQUIRE(api->query_property_history("Ck2AF9QD2K", "sensor-1", query, &records, &total) ==
          Status::kOk);
  REQUIRE(records.size() >= 3);
  CHECK(total == records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    CAPTURE(i);
    CHECK(json::parse(records[i].value_json, nullptr, false).is_number());
    CHECK(records[i].time_ms >= before_ms);
    CHECK(records[i].time_ms <= after_ms);
    if (i > 0) CHECK(records[i].time_ms >= records[i - 1].time_ms);  // oldest first
  }
  // Newest first, two to a page: the page is the first two of the reversed range.
  query.newest_first = true;
  query.limit = 2;
  std::vector<onenet::provision::PropertyRecord> page;
  REQUIRE(api->query_property_history("Ck2AF9QD2K", "sensor-1", query, &page, &total) ==
          Status::kOk);
  CHECK(total == records.size());
  REQUIRE(page.size() == 2);
  CHECK(page[0].time_ms == records.back().time_ms);
  CHECK(page[1].time_ms == records[records.size() - 2].time_ms);

  // Values a device sends late (history/post, section 4.4) are found at their own times.
  const json reply = rig.local.exchange(
      "Ck2AF9QD2K", "sensor-1", 0, "thing/history/post", "thing/history/post/reply",
      R"({"id":"1","params":[{"properties":{"temperature":[{"value":-3.5,"time":1600000000000},
                                                           {"value":-2.5,"time":1600000060000}]}}]})");
  REQUIRE(reply["code"] == 200);
  query = {};
  query.identifier = "temperature";
  query.start_ms = 1600000000000;
  query.end_ms = 1600000060000;
  records.clear();
  REQUIRE(api->query_property_history("Ck2AF9QD2K", "sensor-1", query, &records, &total) ==
          Status::kOk);
  REQUIRE(records.size() == 2);
  CHECK(records[0].value_json == "-3.5");
  CHECK(records[0].time_ms == 1600000000000);
  CHECK(records[1].value_json == "-2.5");

  query.identifier = "pressure";
  CHECK(api->query_property_history("Ck2AF9QD2K", "sensor-1", query, &records, &total) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().message == "unknown property 'pressure'");
  CHECK(records.size() == 2);  // nothing appended

  // The CLI: "UTC time<TAB>value" lines, oldest first; --json; a cut range says so on stderr.
  std::string out;
  const std::vector<std::string> range = {"thing",  "history",       "--product", "Ck2AF9QD2K",
                                          "--name", "sensor-1",      "--id",      "temperature",
                                          "--from", "1600000000000", "--to",      "1600000060000"};
  REQUIRE(run(cli(rig.local, range), 30000, &out) == 0);
  CHECK(out == "2020-09-13T12:26:40.000Z\t-3.5\n2020-09-13T12:27:40.000Z\t-2.5\n");
  std::vector<std::string> args = range;
  args.insert(args.end(), {"--newest-first", "--limit", "1"});
  REQUIRE(run(cli(rig.local, args), 30000, &out) == 0);  // run() merges stderr into out
  CHECK(out == "2020-09-13T12:27:40.000Z\t-2.5\n(records 1 to 1 of 2: --offset 1 for more)\n");
  args = range;
  args.push_back("--json");
  REQUIRE(run(cli(rig.local, args), 30000, &out) == 0);
  CHECK(json::parse(out, nullptr, false) ==
        json::parse(R"({"total":2,"list":[{"time":1600000000000,"value":-3.5},
                                          {"time":1600000060000,"value":-2.5}]})"));
  args = range;
  args[9] = "1600000060001";  // --from after --to
  CHECK(run(cli(rig.local, args), 30000, &out) == 2);
  CHECK(out ==
        "onenet-cli thing history: query-device-property-history: the start is after the "
        "end\n");
  CHECK(rig.local.stop());
}

TEST_CASE("data streams from the cloud's side: OneNET's history-datapoints and synccmds") {
  constexpr const char* kMeterProduct = "DsProd0001";
  OnenetLocal local({"--datastream", kMeterProduct, "--seed-device",
                     std::string(kMeterProduct) + "/meter-1", "--seed-device", "Ck2AF9QD2K/dev1"});
  REQUIRE(local.start());
  auto api = make_client(user_options(local));
  // Points at known times, posted as the meter (section 4.6: "t" in seconds).
  const json accepted =
      local.exchange(kMeterProduct, "meter-1", 0, "dp/post/json", "dp/post/json/accepted",
                     R"({"id":1,"dp":{"temp":[{"v":20,"t":1700000000},{"v":21,"t":1700000060}],
                       "hum":[{"v":{"rh":50},"t":1700000030}]}})");
  REQUIRE(accepted == json{{"id", 1}});

  // The route as OneNET answers: the newest point of each stream, `at` in China Standard Time.
  const std::string query = std::string("/datapoint/history-datapoints?product_id=") +
                            kMeterProduct + "&device_name=meter-1";
  json answer = local.curl("GET", query);
  REQUIRE(answer["code"] == 0);
  CHECK(answer["data"] == json::parse(R"({"count":2,"datastreams":[
      {"id":"hum","datapoints":[{"at":"2023-11-15 06:13:50.000","at_timestamp":1700000030000,
                                 "value":{"rh":50}}]},
      {"id":"temp","datapoints":[{"at":"2023-11-15 06:14:20.000","at_timestamp":1700000060000,
                                  "value":21}]}]})"));
  answer = local.curl("GET", query +
                                 "&datastream_id=temp&start=2023-11-15T06:13:20&end=2023-11-"
                                 "15T06:14:20&sort=DESC");
  CHECK(answer["data"]["count"] == 2);
  CHECK(answer["data"]["datastreams"][0]["datapoints"][0]["value"] == 21);
  CHECK(answer["data"]["datastreams"][0]["datapoints"][1]["value"] == 20);
  answer = local.curl("GET", query + "&start=2023-11-15T06:13:20&limit=1");  // in all, ASC
  CHECK(answer["data"]["count"] == 1);
  CHECK(answer["data"]["datastreams"].size() == 1);
  for (const char* bad : {"&start=2023-11-15", "&start=2023-11-15T06:13:20&limit=0", "&sort=UP",
                          "&datastream_id=temp,",
                          "&start=2023-11-15T06:13:21&end="
                          "2023-11-15T06:13:20"}) {
    CAPTURE(bad);
    CHECK(local.curl("GET", query + bad)["code"] == 10400);
  }
  CHECK(
      local.curl("GET",
                 "/datapoint/history-datapoints?product_id=Ck2AF9QD2K&device_name=dev1")["code"] ==
      10400);  // a OneJSON product

  // ApiClient: the same points, by time range in ms.
  std::vector<onenet::provision::DataStreamPoints> streams;
  REQUIRE(api->query_datapoints(kMeterProduct, "meter-1", {}, &streams) == Status::kOk);
  REQUIRE(streams.size() == 2);
  CHECK(streams[1].id == "temp");
  REQUIRE(streams[1].points.size() == 1);
  CHECK(streams[1].points[0].time_ms == 1700000060000);
  CHECK(streams[0].points[0].value_json == R"({"rh":50})");
  onenet::provision::DatapointQuery range;
  range.streams = {"temp", "hum"};
  range.start_ms = 1700000000000;
  range.end_ms = 1700000060000;
  range.newest_first = true;
  streams.clear();
  REQUIRE(api->query_datapoints(kMeterProduct, "meter-1", range, &streams) == Status::kOk);
  REQUIRE(streams.size() == 2);
  REQUIRE(streams[1].points.size() == 2);
  CHECK(streams[1].points[0].value_json == "21");
  CHECK(streams[1].points[1].time_ms == 1700000000000);
  range.start_ms = 1700000000001;
  range.end_ms = 1700000000000;
  CHECK(api->query_datapoints(kMeterProduct, "meter-1", range, &streams) ==
        Status::kInvalidArgument);
  CHECK(api->query_datapoints("Ck2AF9QD2K", "dev1", {}, &streams) == Status::kProvisionApiError);
  CHECK(api->last_error().message.find("speaks OneJSON") != std::string::npos);

  // The CLI: "stream<TAB>UTC time<TAB>value" lines.
  std::string out;
  REQUIRE(run(cli(local, {"datastream", "points", "--product", kMeterProduct, "--name", "meter-1",
                          "--stream", "temp", "--from", "1700000000000", "--to", "1700000060000"}),
              30000, &out) == 0);
  CHECK(out == "temp\t2023-11-14T22:13:20.000Z\t20\ntemp\t2023-11-14T22:14:20.000Z\t21\n");

  // Commands need the device online: offline, OneNET's refusal; then the meter sample answers.
  std::string response;
  CHECK(api->send_command(kMeterProduct, "meter-1", "read", 5, &response) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 10408);
  auto meter = Process::start({ONENET_DATASTREAM_PATH, "--port", std::to_string(local.port()),
                               "--product", kMeterProduct, "--device", "meter-1", "--key",
                               local.device_key(0), "--interval", "1"});
  REQUIRE(meter);
  const auto said = [](const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  };
  REQUIRE(meter->wait_for_line(said(": 200 accepted"), 20000));
  REQUIRE(api->send_command(kMeterProduct, "meter-1", "read", 5, &response) == Status::kOk);
  const json reading = json::parse(response, nullptr, false);
  CHECK(reading["voltage"].is_number());
  CHECK(meter->wait_for_line(said(": read"), 20000));
  REQUIRE(run(cli(local, {"datastream", "command", "--product", kMeterProduct, "--name", "meter-1",
                          "--text", "interval 2"}),
              30000, &out) == 0);
  CHECK(out == R"({"interval":2,"ok":true})");  // the bytes as they came (no terminal: no newline)
  CHECK(meter->wait_for_line(said("interval = 2 s"), 20000));
  REQUIRE(run(cli(local, {"datastream", "command", "--product", kMeterProduct, "--name", "meter-1",
                          "--hex", "00ff"}),
              30000, &out) == 0);
  CHECK(meter->wait_for_line(said("(binary)"), 20000));
  // Refused before sending: no command, both forms, odd hex, an empty one through the API.
  for (const std::vector<std::string>& form :
       {std::vector<std::string>{}, {"--text", "a", "--hex", "61"}, {"--hex", "0f0"}}) {
    std::vector<std::string> args = {"datastream",  "command", "--product",
                                     kMeterProduct, "--name",  "meter-1"};
    args.insert(args.end(), form.begin(), form.end());
    CHECK(run(cli(local, args), 30000, &out) == 2);
    CHECK(count_lines(out) == 1);
  }
  CHECK(api->send_command(kMeterProduct, "meter-1", "", 5, &response) == Status::kInvalidArgument);
  CHECK(api->send_command(kMeterProduct, "meter-1", "read", 0, &response) ==
        Status::kInvalidArgument);
  meter->signal(SIGTERM);
  CHECK(meter->wait(20000) == 0);
  CHECK(local.stop());
}

TEST_CASE("legacy MQTTS API: a device registers itself with its product's key; images set") {
  constexpr const char* kMeterProduct = "DsProd0001";
  OnenetLocal local({"--datastream", kMeterProduct, "--seed-device",
                     std::string(kMeterProduct) + "/meter-1", "--seed-device", "Ck2AF9QD2K/dev1"});
  REQUIRE(local.start());
  const std::string product_key = local.product_key(kMeterProduct);
  REQUIRE(!product_key.empty());
  // What a device holds (一型一密): its product's id and key, a token as community code signs it.
  ApiOptions o = user_options(local);
  o.resource = std::string("products/") + kMeterProduct;
  o.access_key = product_key;
  o.token_version = "2018-10-31";
  o.method = onenet::auth::Method::kSha1;
  auto device_side = make_client(o);

  DeviceInfo first;
  REQUIRE(device_side->register_device("self-1", "", "", &first) == Status::kOk);
  CHECK(first.product_id == kMeterProduct);
  CHECK(first.name == "self-1");
  CHECK(!first.key.empty());
  CHECK(first.did.find_first_not_of("0123456789") == std::string::npos);
  // A name the product has: the same device, so a retry after a lost answer is safe.
  DeviceInfo again;
  REQUIRE(device_side->register_device("self-1", "", "", &again) == Status::kOk);
  CHECK(again.key == first.key);
  CHECK(again.did == first.did);
  // The cloud's side sees it, with that key and id.
  auto api = make_client(user_options(local));
  DeviceInfo detail;
  REQUIRE(api->device_detail(kMeterProduct, "self-1", &detail) == Status::kOk);
  CHECK(detail.key == first.key);
  CHECK(detail.did == first.did);
  // A key of one's own: Base64 of at most 32 bytes, checked before sending.
  const std::string own_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";  // 32 bytes
  DeviceInfo own;
  REQUIRE(device_side->register_device("self-2", "a meter", own_key, &own) == Status::kOk);
  CHECK(own.key == own_key);
  const uint64_t sent = device_side->attempts();
  CHECK(device_side->register_device("self-3", "", own_key + "AA==", nullptr) ==
        Status::kInvalidArgument);
  CHECK(device_side->register_device("self-3", "", "not base64!", nullptr) ==
        Status::kInvalidArgument);
  CHECK(device_side->attempts() == sent);
  // The server's refusals, in the legacy envelope: a bad name, a user's token, a wrong key.
  CHECK(device_side->register_device("bad name", "", "", nullptr) == Status::kProvisionApiError);
  CHECK(device_side->last_error().code == 7);
  CHECK(device_side->last_error().message.rfind("onenet_common_invalidParam: name:", 0) == 0);
  CHECK(api->register_device("self-4", "", "", nullptr) == Status::kProvisionApiError);
  CHECK(api->last_error().code == 7);
  ApiOptions wrong = o;
  wrong.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  CHECK(make_client(wrong)->register_device("self-4", "", "", nullptr) ==
        Status::kProvisionBadCredentials);

  // An MCU does the same heap-free (ota::FuseOtaClient over TCP), signing the product's token
  // itself as firmware written for OneNET does.
  {
    onenet::platform::TcpTransport tcp("127.0.0.1", local.http_port());
    onenet::platform::SystemClock clock;
    uint8_t buffer[1024];
    onenet::ota::FuseOtaOptions mcu_options;
    mcu_options.host = onenet::ota::kLegacyApiHost;
    onenet::ota::FuseOtaClient mcu(tcp, clock, onenet::MutableByteView(buffer, sizeof buffer),
                                   mcu_options);
    const std::string token =
        OnenetLocal::token(std::string("products/") + kMeterProduct, product_key, "2018-10-31");
    onenet::ota::Registration registered;
    REQUIRE(mcu.register_device({kMeterProduct, "mcu-1", token}, &registered) == Status::kOk);
    DeviceInfo mcu_detail;
    REQUIRE(api->device_detail(kMeterProduct, "mcu-1", &mcu_detail) == Status::kOk);
    CHECK(std::string(registered.key) == mcu_detail.key);
    CHECK(std::to_string(registered.did) == mcu_detail.did);
    const std::string wrong =
        OnenetLocal::token(std::string("products/") + kMeterProduct,
                           "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "2018-10-31");
    CHECK(mcu.register_device({kMeterProduct, "mcu-2", wrong}, &registered) ==
          Status::kProvisionBadCredentials);
    CHECK(mcu.last_code() == 2);
  }

  // The device it made logs in with that key and posts a point.
  itest::LiveDevice<onenet::model::CommandHandler> self(local.port(), kMeterProduct, "self-1",
                                                        first.key);
  self.options.protocol = onenet::model::DataProtocol::kDataStream;
  REQUIRE(self.start());
  const onenet::model::Reply reply = self.await([](onenet::model::Device& d, auto done) {
    return d.post_datapoints({{"power", 1}}, done);
  });
  CHECK(reply.code == 200);

  // The image, from the application's side.
  std::string image;
  REQUIRE(api->update_device_image(first.did, R"({"interval":5})", "", &image) == Status::kOk);
  json parsed = json::parse(image);
  CHECK(parsed["state"]["desired"] == json{{"interval", 5}});
  CHECK(parsed["version"] == 1);
  REQUIRE(api->update_device_image(first.did, "", R"({"interval":5,"relay":"on"})", &image) ==
          Status::kOk);
  parsed = json::parse(image);
  CHECK(parsed["state"]["reported"] == json{{"interval", 5}, {"relay", "on"}});
  CHECK(parsed["version"] == 2);
  // Refused before sending: not objects, the image's limits, no values, a device id that is no
  // number.
  const uint64_t before = api->attempts();
  CHECK(api->update_device_image(first.did, "[1]", "", nullptr) == Status::kInvalidArgument);
  CHECK(api->update_device_image(first.did, R"({"a b":1})", "", nullptr) ==
        Status::kInvalidArgument);
  CHECK(api->last_error().message == "image: desired: key 'a b': 1 to 30 letters, digits or '_'");
  CHECK(api->update_device_image(first.did, "", "", nullptr) == Status::kInvalidArgument);
  CHECK(api->update_device_image("meter-1", R"({"a":1})", "", nullptr) == Status::kInvalidArgument);
  CHECK(api->attempts() == before);
  // Refused by the cloud: a OneJSON product's device, an unknown id.
  DeviceInfo onejson;
  REQUIRE(api->device_detail("Ck2AF9QD2K", "dev1", &onejson) == Status::kOk);
  CHECK(api->update_device_image(onejson.did, R"({"a":1})", "", nullptr) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 7);
  CHECK(api->update_device_image("999999999", R"({"a":1})", "", nullptr) ==
        Status::kProvisionApiError);
  CHECK(api->last_error().code == 1001);
  CHECK(local.stop());
}

TEST_CASE("onenet-cli: device register with a product key, datastream image; errors are one line") {
  constexpr const char* kMeterProduct = "DsProd0001";
  OnenetLocal local(
      {"--datastream", kMeterProduct, "--seed-device", std::string(kMeterProduct) + "/meter-1"});
  REQUIRE(local.start());
  const std::string product_key = local.product_key(kMeterProduct);
  const std::vector<std::string> as_product = {"--auth",      "product",      "--product",
                                               kMeterProduct, "--access-key", product_key};
  std::vector<std::string> args = {"device", "register", "--name", "cli-self"};
  args.insert(args.end(), as_product.begin(), as_product.end());
  std::string out;
  REQUIRE(run(cli(local, args), 30000, &out) == 0);
  const std::string key = out.substr(0, out.find('\n'));
  CHECK(out == key + "\n");  // the key alone, as device create prints it
  std::string again;
  REQUIRE(run(cli(local, args), 30000, &again) == 0);
  CHECK(again == out);

  REQUIRE(run(cli(local, {"datastream", "image", "--product", kMeterProduct, "--name", "meter-1",
                          "--desired", R"({"interval":7})"}),
              30000, &out) == 0);
  CHECK(out == "version   1\ndesired   {\"interval\":7}\nreported  {}\n");
  REQUIRE(run(cli(local, {"datastream", "image", "--product", kMeterProduct, "--name", "meter-1",
                          "--reported", R"({"interval":7})", "--json"}),
              30000, &out) == 0);
  CHECK(json::parse(out, nullptr, false)["state"]["reported"] == json{{"interval", 7}});
  // Bad input: exit 2, one line.
  CHECK(run(cli(local, {"datastream", "image", "--product", kMeterProduct, "--name", "meter-1",
                        "--desired", R"({"bad key":1})"}),
            30000, &out) == 2);
  CHECK(out ==
        "onenet-cli datastream image: image: desired: key 'bad key': 1 to 30 letters, "
        "digits or '_'\n");
  CHECK(run(cli(local, {"datastream", "image", "--product", kMeterProduct, "--name", "meter-1"}),
            30000, &out) == 2);
  CHECK(count_lines(out) == 1);
  // The cloud's refusal: exit 1, one line with the legacy code.
  CHECK(run(cli(local, {"datastream", "image", "--product", kMeterProduct, "--device-id",
                        "999999999", "--desired", R"({"a":1})"}),
            30000, &out) == 1);
  CHECK(out ==
        "onenet-cli datastream image: onenet_auth_devNotFound: device not found (OneNET code "
        "1001)\n");
  CHECK(local.stop());
}
