// samples/mcu-device through onenet-local: a device written with the portable core alone
// (client, token, topic table, fuse-ota; static buffers, no JSON library) logs in, reports,
// answers property sets it can and cannot take, and takes a firmware update.
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <string>

#include "onenet/auth/encoding.hpp"
#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::Process;
using nlohmann::json;

namespace {

constexpr const char* kProduct = "McuProd001";

std::function<bool(const std::string&)> has(const std::string& text) {
  return [text](const std::string& line) { return line.find(text) != std::string::npos; };
}

std::string base64(const std::string& bytes) {
  std::string out(onenet::auth::base64_encoded_length(bytes.size()), '\0');
  const auto n = onenet::auth::base64_encode(onenet::ByteView(bytes), out.data(), out.size());
  REQUIRE(n.ok());
  out.resize(n.value());
  return out;
}

// onenet-mcu-device as McuProd001/mcu-1 on `cloud`, with `extra` flags.
std::unique_ptr<Process> start_mcu_device(const OnenetLocal& cloud,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {ONENET_MCU_DEVICE_PATH,
                                   "--port",
                                   std::to_string(cloud.port()),
                                   "--product",
                                   kProduct,
                                   "--device",
                                   "mcu-1",
                                   "--key",
                                   cloud.device_key()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Process::start(argv);
}

size_t count_events(const OnenetLocal& cloud, const std::function<bool(const json&)>& match) {
  size_t n = 0;
  for (const json& e : cloud.events()) n += match(e) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("onenet-mcu-device sample: reports, takes an interval, refuses what it cannot take") {
  // No thing model on the cloud: what the device refuses, it refuses itself.
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1"});
  REQUIRE(cloud.start());
  auto device = start_mcu_device(cloud);
  REQUIRE(device);
  REQUIRE(device->wait_for_line(has("connected"), 20000));
  REQUIRE(device->wait_for_line(has("report accepted (1 of 1)"), 20000));
  const json latest =
      cloud.curl("GET", "/thingmodel/query-device-property?product_id=" + std::string(kProduct) +
                            "&device_name=mcu-1");
  REQUIRE(latest["data"].size() == 1);
  CHECK(latest["data"][0]["identifier"] == "temperature");

  const auto set = [&](const json& params) {
    return std::async(std::launch::async, [&cloud, params] {
      return cloud.curl(
          "POST", "/thingmodel/set-device-property",
          json{{"product_id", kProduct}, {"device_name", "mcu-1"}, {"params", params}}.dump());
    });
  };
  auto accepted = set({{"interval", 2}});
  CHECK(device->wait_for_line(has("property set: interval = 2 s"), 20000));
  CHECK(accepted.get().value("code", -1) == 0);

  struct Refusal {
    json params;
    std::string reason;
  };
  const Refusal refusals[] = {
      {{{"interval", 0}}, "interval: expected an integer from 1 to 3600"},
      {{{"interval", 2.5}}, "interval: expected an integer from 1 to 3600"},
      {{{"interval", "5"}}, "interval: expected an integer from 1 to 3600"},
      {{{"temperature", 3}}, "only interval can be set"},
  };
  for (const Refusal& refusal : refusals) {
    CAPTURE(refusal.params.dump());
    auto refused = set(refusal.params);
    CHECK(device->wait_for_line(has("property set refused: " + refusal.reason), 20000));
    const json answer = refused.get();
    CHECK(answer.value("code", -1) == 10413);  // the device's own refusal, passed on
    CHECK(answer.value("msg", "") == refusal.reason);
  }
  // Still reporting after all that, on the interval it took.
  CHECK(device->wait_for_line(has("report accepted"), 20000));

  device->signal(SIGTERM);
  CHECK(device->wait_for_line(has("disconnected"), 20000));
  CHECK(device->wait(20000) == 0);

  // A key that is not Base64: said at start, exit 2, nothing sent.
  std::string out;
  CHECK(itest::run({ONENET_MCU_DEVICE_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kProduct, "--device", "mcu-1", "--key", "not base64!"},
                   30000, &out) == 2);
  CHECK(out.find("onenet-mcu-device: the access key is not valid Base64") == 0);
  CHECK(cloud.stop());
}

TEST_CASE(
    "onenet-mcu-device --api-port --api-tls: an update heard on ota/inform, downloaded, "
    "installed") {
  // The API over HTTPS, as OneNET's: the device verifies onenet-local's CA.
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1", "--https-port", "0"});
  REQUIRE(cloud.start());
  auto device =
      start_mcu_device(cloud, {"--api-port", std::to_string(cloud.https_port()), "--api-tls",
                               "--cafile", cloud.ca_file(), "--firmware-version", "FW-1.0"});
  REQUIRE(device);
  // At its first login it reports its version and finds nothing to do.
  REQUIRE(device->wait_for_line(has("firmware FW-1.0 is current"), 20000));

  // Bytes that are not all alike, so a misplaced piece shows in the MD5.
  std::string package(48 * 1024 + 11, '\0');
  for (size_t i = 0; i < package.size(); ++i) package[i] = static_cast<char>((i * 7919) >> 3);
  const json created = cloud.curl("POST", "/local/ota/task",
                                  json{{"product_id", kProduct},
                                       {"device_name", "mcu-1"},
                                       {"type", 1},
                                       {"target", "FW-2.0"},
                                       {"package", base64(package)}}
                                      .dump());
  REQUIRE(created.value("code", -1) == 0);
  const std::string md5 = created["data"]["md5"];
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());

  CHECK(device->wait_for_line(has("ota/inform: an update is offered"), 20000));
  CHECK(device->wait_for_line(has("update to FW-2.0: " + std::to_string(package.size()) + " bytes"),
                              20000));
  CHECK(device->wait_for_line(has("MD5 " + md5 + " checked"), 20000));
  REQUIRE(device->wait_for_line(has("installed FW-2.0"), 20000));
  // Still a working device: it reports on.
  CHECK(device->wait_for_line(has("report accepted"), 20000));

  // The cloud's view: the notice answered; the download's progress at each quarter (the
  // download paused and went on with a Range, the MD5 still right), then 101 and 201; the task
  // over, and the new version (a check from it finds nothing).
  CHECK(count_events(cloud, [](const json& e) {
          return e.value("event", "") == "ota_inform_reply" && e["payload"].is_object() &&
                 e["payload"].value("code", 0) == 200 && e["payload"].contains("id");
        }) == 1);
  std::vector<int> steps;
  for (const json& e : cloud.events()) {
    if (e.value("event", "") == "ota_step" && e.value("tid", "") == tid)
      steps.push_back(e.value("step", -1));
  }
  CHECK(steps == std::vector<int>{25, 50, 75, 101, 201});
  CHECK(device->transcript().find("downloaded 75% (") != std::string::npos);
  const std::string device_token = cloud.device_token(kProduct, "mcu-1");
  const json after =
      cloud.curl("GET", "/fuse-ota/" + std::string(kProduct) + "/mcu-1/check?type=1&version=FW-2.0",
                 "", device_token);
  CHECK(after.value("code", -1) == 12012);

  device->signal(SIGTERM);
  CHECK(device->wait(20000) == 0);
  // Its output names neither its key nor a token, though each HTTP call carried one.
  const std::string output = device->transcript() + device->remaining();
  CHECK(output.find("installed FW-2.0") != std::string::npos);  // all of it is here
  CHECK(output.find(cloud.device_key()) == std::string::npos);
  CHECK(output.find("sign=") == std::string::npos);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-mcu-device: a package larger than its flash slot is refused unfetched (102)") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1"});
  REQUIRE(cloud.start());
  auto device = start_mcu_device(
      cloud, {"--api-port", std::to_string(cloud.http_port()), "--slot-size", "1000"});
  REQUIRE(device);
  REQUIRE(device->wait_for_line(has("firmware 1.0 is current"), 20000));
  const json created = cloud.curl("POST", "/local/ota/task",
                                  json{{"product_id", kProduct},
                                       {"device_name", "mcu-1"},
                                       {"type", 1},
                                       {"target", "2.0"},
                                       {"package", base64(std::string(1001, 'p'))}}
                                      .dump());
  REQUIRE(created.value("code", -1) == 0);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());
  CHECK(device->wait_for_line(has("update to 2.0: 1001 bytes"), 20000));
  // The line comes once the cloud has answered the report (and logged it).
  REQUIRE(device->wait_for_line(
      has("does not fit the slot (1000 bytes): not downloaded, step 102 reported"), 20000));
  CHECK(count_events(cloud, [&](const json& e) {
          return e.value("event", "") == "ota_step" && e.value("tid", "") == tid &&
                 e.value("step", 0) == 102;
        }) == 1);
  CHECK(count_events(cloud, [](const json& e) {
          return e.value("event", "") == "http" &&
                 e.value("path", "").find("/download") != std::string::npos;
        }) == 0);
  device->signal(SIGTERM);
  CHECK(device->wait(20000) == 0);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-mcu-device: a package that fails its MD5 is not installed (205); it goes on") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1"});
  REQUIRE(cloud.start());
  auto device = start_mcu_device(cloud, {"--api-port", std::to_string(cloud.http_port())});
  REQUIRE(device);
  REQUIRE(device->wait_for_line(has("firmware 1.0 is current"), 20000));
  // onenet-local announces an MD5 that is not the package's: a package damaged on its way.
  const std::string wrong_md5(32, 'a');
  json task = {{"product_id", kProduct},
               {"device_name", "mcu-1"},
               {"type", 1},
               {"target", "2.0"},
               {"package", base64(std::string(5000, 'p'))},
               {"md5", "not hex"}};
  CHECK(cloud.curl("POST", "/local/ota/task", task.dump()).value("msg", "") ==
        "md5: 32 hex digits");
  task["md5"] = wrong_md5;
  const json created = cloud.curl("POST", "/local/ota/task", task.dump());
  REQUIRE(created.value("code", -1) == 0);
  CHECK(created["data"].value("md5", "") == wrong_md5);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());

  CHECK(device->wait_for_line(has("update to 2.0: 5000 bytes"), 20000));
  REQUIRE(device->wait_for_line(has("download failed at 5000 bytes"), 20000));
  // Its step is reported right after that line, before the device goes on: the next report's
  // line comes after the cloud logged the step. Not installed: still a working device on 1.0.
  REQUIRE(device->wait_for_line(has("report accepted"), 20000));
  CHECK(count_events(cloud, [&](const json& e) {
          return e.value("event", "") == "ota_step" && e.value("tid", "") == tid &&
                 e.value("step", 0) == 205;
        }) == 1);
  device->signal(SIGTERM);
  CHECK(device->wait(20000) == 0);
  const std::string rest = device->remaining();
  CHECK(rest.find("installed") == std::string::npos);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-mcu-device: a desired interval left while it was off is taken at login") {
  // No thing model on the cloud: a desired value the device cannot take reaches it.
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1"});
  REQUIRE(cloud.start());
  const auto desired = [&](const char* operation, const json& params) {
    return cloud.curl(
        "POST", std::string("/thingmodel/") + operation,
        json{{"product_id", kProduct}, {"device_name", "mcu-1"}, {"params", params}}.dump());
  };
  const auto held = [&]() {
    return desired("query-device-desired-property", {"interval"})["data"];
  };
  // Runs the device until `line`, then stops it; its whole output.
  const auto run_until = [&](const std::string& line) {
    auto device = start_mcu_device(cloud);
    REQUIRE(device);
    CHECK(device->wait_for_line(has(line), 20000));
    device->signal(SIGTERM);
    CHECK(device->wait_for_line(has("disconnected"), 20000));
    CHECK(device->wait(20000) == 0);
    return device->transcript();
  };

  REQUIRE(desired("set-device-desired-property", {{"interval", "fast"}})["code"] == 0);
  std::string output = run_until("desired interval refused: interval: expected");
  CHECK(output.find("applied") == std::string::npos);
  CHECK(held()["interval"]["value"] == "fast");  // left for the application to see

  REQUIRE(desired("set-device-desired-property", {{"interval", 4}})["code"] == 0);
  output = run_until("desired interval version 2 deleted");
  CHECK(output.find("desired interval = 4 s (version 2) applied") != std::string::npos);
  CHECK(held().empty());

  output = run_until("no desired interval held");
  CHECK(output.find("applied") == std::string::npos);
  CHECK(cloud.stop());
}
