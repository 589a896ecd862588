// samples/mcu-device through onenet-local: a device written with the portable core alone
// (client, token, topic table; static buffers, no JSON library) logs in, reports, and answers
// property sets it can and cannot take.
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <string>

#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::Process;
using nlohmann::json;

namespace {

constexpr const char* kProduct = "McuProd001";

std::function<bool(const std::string&)> has(const std::string& text) {
  return [text](const std::string& line) { return line.find(text) != std::string::npos; };
}

}  // namespace

TEST_CASE("onenet-mcu-device sample: reports, takes an interval, refuses what it cannot take") {
  // No thing model on the cloud: what the device refuses, it refuses itself.
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/mcu-1"});
  REQUIRE(cloud.start());
  auto device =
      Process::start({ONENET_MCU_DEVICE_PATH, "--port", std::to_string(cloud.port()), "--product",
                      kProduct, "--device", "mcu-1", "--key", cloud.device_key()});
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
