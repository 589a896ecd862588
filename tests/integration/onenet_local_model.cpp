// model::Device through onenet-local: requests and their replies, commands from the HTTP API,
// thing-model checks on both sides, malformed commands.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "live_device.hpp"
#include "onenet/model/device.hpp"
#include "onenet/platform/device_runner.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet_local.hpp"
#include "poll_until.hpp"

using itest::OnenetLocal;
using itest::Process;
using nlohmann::json;
using onenet::Status;

namespace {

constexpr const char* kProduct = "DemoProd01";

struct App : onenet::model::CommandHandler {
  onenet::model::Reply on_property_set(const json& params) override {
    sets.push_back(params);
    return {200, "applied", {}};
  }
  onenet::model::Reply on_service(const std::string& id, const json& input) override {
    if (id == "reboot" && input.value("delay", 0) == 59) {
      // The behaviour under test: a handler slower than the platform's 5 s limit.
      std::this_thread::sleep_for(std::chrono::seconds(6));
    }
    if (id == "reboot" && input.value("delay", 0) == 60) {
      // The behaviour under test: an output the model refuses (result holds 64 characters).
      return {200, "ok", {{"result", std::string(65, 'x')}}};
    }
    return {
        200, "ok", {{"result", "rebooting in " + std::to_string(input.value("delay", 0)) + " s"}}};
  }
  std::vector<json> sets;
};

// The sample's device, sensor-1, checked against `model` (null: none).
struct Thing : itest::LiveDevice<App> {
  Thing(const OnenetLocal& cloud, const onenet::model::ThingModel* model)
      : LiveDevice(cloud.port(), kProduct, "sensor-1", cloud.device_key()) {
    options.thing_model = model;
    options.request_timeout_ms = 5000;
  }
};

onenet::model::ThingModel load_model() {
  onenet::model::ThingModel model;
  std::string error;
  REQUIRE(model.load(itest::read_file(ONENET_SOURCE_DIR "/samples/telemetry/thing-model.json"),
                     &error));
  return model;
}

std::vector<std::string> cloud_args() {
  return {"--seed-device", std::string(kProduct) + "/sensor-1", "--tsl",
          std::string(kProduct) + "=" ONENET_SOURCE_DIR "/samples/telemetry/thing-model.json"};
}

json http_while_polling(const OnenetLocal& cloud, Thing& thing, const std::string& path,
                        const json& body) {
  auto curl =
      Process::start({"curl", "-s", "-S", "--max-time", "20", "-X", "POST", cloud.http() + path,
                      "-H", "authorization: " + cloud.user_token(), "-H",
                      "Content-Type: application/json", "--data-binary", body.dump()});
  REQUIRE(curl);
  REQUIRE(thing.poll_until([&] { return !curl->running(); }, 30000));
  curl->wait(1000);
  return json::parse(curl->remaining(), nullptr, false);
}

}  // namespace

TEST_CASE("property post: the reply is matched to its request by id") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  Status status = Status::kInternalError;
  onenet::model::Reply reply;
  const auto id = thing.device.post_properties({{"temperature", 21.5}, {"humidity", 40.0}},
                                               [&](Status s, const onenet::model::Reply& r) {
                                                 status = s;
                                                 reply = r;
                                               });
  REQUIRE(id.ok());
  REQUIRE(thing.poll_until([&] { return status != Status::kInternalError; }));
  CHECK(status == Status::kOk);
  CHECK(reply.code == 200);
  // The cloud saw this very request id.
  bool seen = false;
  for (const json& e : cloud.events())
    seen = seen || (e.value("event", "") == "reply" && e.value("id", "") == id.value());
  CHECK(seen);
  CHECK(cloud.stop());
}

TEST_CASE("an invalid value is refused locally with a clear message, and nothing is sent") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  CHECK(thing.device.post_properties({{"temperature", "hot"}}, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(thing.device.last_error().find("temperature: expected a number") != std::string::npos);
  CHECK(thing.device.post_properties({{"pressure", 1}}, nullptr).status() ==
        Status::kModelInvalidValue);
  CHECK(thing.device.last_error() == "unknown property 'pressure'");
  CHECK(thing.device.post_event("overheat", {{"temperature", 500}}, nullptr).status() ==
        Status::kModelInvalidValue);
  int requests = 0;
  for (const json& e : cloud.events()) requests += e.value("event", "") == "request";
  CHECK(requests == 0);
  CHECK(cloud.stop());
}

TEST_CASE(
    "HTTP set -> handler -> set_reply -> HTTP result; a service returns its output, checked") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  json answer = http_while_polling(
      cloud, thing, "/thingmodel/set-device-property",
      {{"product_id", kProduct}, {"device_name", "sensor-1"}, {"params", {{"interval", 7}}}});
  CHECK(answer["code"] == 0);
  CHECK(answer["msg"] == "applied");
  REQUIRE(thing.app.sets.size() == 1);
  CHECK(thing.app.sets[0]["interval"] == 7);

  const auto call_reboot = [&](int delay) {
    return http_while_polling(cloud, thing, "/thingmodel/call-service",
                              {{"product_id", kProduct},
                               {"device_name", "sensor-1"},
                               {"identifier", "reboot"},
                               {"params", {{"delay", delay}}}});
  };
  answer = call_reboot(4);
  CHECK(answer["code"] == 0);
  CHECK(answer["data"]["result"] == "rebooting in 4 s");

  // An output the thing model refuses never leaves the device: the caller hears why.
  answer = call_reboot(60);
  CHECK(answer["code"] == 10413);
  CHECK(answer["data"]["code"] == 100);
  CHECK(answer.value("msg", "") ==
        "reply refused by the thing model: reboot.result: string of 65 characters is longer than "
        "64");
  CHECK(cloud.stop());
}

TEST_CASE("a service handler slower than 5 s: the HTTP call reports the timeout") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  const json answer = http_while_polling(cloud, thing, "/thingmodel/call-service",
                                         {{"product_id", kProduct},
                                          {"device_name", "sensor-1"},
                                          {"identifier", "reboot"},
                                          {"params", {{"delay", 59}}}});
  CHECK(answer["code"] == 10410);
  CHECK(cloud.stop());
}

TEST_CASE("desired values: get, then delete, through the device API") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  REQUIRE(
      cloud.curl("POST", "/thingmodel/set-device-desired-property",
                 R"({"product_id":"DemoProd01","device_name":"sensor-1","params":{"interval":15}})")
          ["code"] == 0);
  onenet::model::Reply got =
      thing.await([](onenet::model::Device& d, onenet::model::ReplyCallback done) {
        return d.get_desired({"interval"}, std::move(done));
      });
  CHECK(got.data["interval"]["value"] == 15);
  const int version = got.data["interval"]["version"].get<int>();
  const onenet::model::Reply deleted =
      thing.await([version](onenet::model::Device& d, onenet::model::ReplyCallback done) {
        return d.delete_desired({{"interval", version}}, std::move(done));
      });
  CHECK(deleted.code == 200);
  got = thing.await([](onenet::model::Device& d, onenet::model::ReplyCallback done) {
    return d.get_desired({"interval"}, std::move(done));
  });
  CHECK(got.data.empty());
  CHECK(cloud.stop());
}

TEST_CASE("malformed and invalid commands get error replies; the handler never sees them") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  Thing thing(cloud, &model);
  REQUIRE(thing.start());
  // The device may publish in its own topic space; its own subscription delivers the command
  // back to it, exactly as if the cloud had sent it.
  const std::string set_topic = "$sys/DemoProd01/sensor-1/thing/property/set";
  REQUIRE(thing.device.client()
              .publish(set_topic, std::string_view(R"({"id":"901","params":{"interval":)"),
                       onenet::codec::QoS::kAtMostOnce)
              .ok());
  REQUIRE(thing.device.client()
              .publish(set_topic, std::string_view(R"({"id":"902","params":{"interval":99999}})"),
                       onenet::codec::QoS::kAtMostOnce)
              .ok());
  REQUIRE(thing.device.client()
              .publish(set_topic, std::string_view(R"({"id":"903","params":{"temperature":1}})"),
                       onenet::codec::QoS::kAtMostOnce)
              .ok());
  std::map<std::string, json> replies;
  REQUIRE(thing.poll_until([&] {
    for (const json& e : cloud.events()) {
      if (e.value("event", "") == "device_reply") replies[e.value("id", "")] = e["payload"];
    }
    return replies.size() == 3;
  }));
  CHECK(replies["901"]["code"] == 400);
  CHECK(replies["901"]["msg"] == "malformed JSON");
  CHECK(replies["902"]["msg"].get<std::string>().find("above the maximum") != std::string::npos);
  CHECK(replies["903"]["msg"].get<std::string>().find("read-only") != std::string::npos);
  CHECK(thing.app.sets.empty());
  CHECK(thing.device.state() == onenet::client::State::kConnected);
  CHECK(cloud.stop());
}

TEST_CASE("Linux: DeviceRunner answers with futures, from any thread") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto model = load_model();
  onenet::platform::TcpTransport transport("127.0.0.1", cloud.port());
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<16384, 16384, 32768, 32, 512>>();
  App app;
  onenet::model::Device device(transport, clock, onenet::platform::system_random,
                               onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                               storage->view(), app);
  onenet::platform::DeviceRunner runner(device, transport);
  onenet::model::DeviceOptions options;
  options.product_id = kProduct;
  options.device_name = "sensor-1";
  options.access_key = cloud.device_key();
  options.thing_model = &model;
  REQUIRE(runner.start(options) == Status::kOk);

  std::vector<std::future<onenet::platform::ModelResult>> results;
  std::vector<std::thread> threads;
  std::mutex mutex;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      auto future = runner.post_properties({{"temperature", 20.0 + t}});
      std::lock_guard<std::mutex> lock(mutex);
      results.push_back(std::move(future));
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& f : results) {
    REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    const auto r = f.get();
    CHECK(r.status == Status::kOk);
    CHECK(r.reply.code == 200);
  }
  const auto refused = runner.post_properties({{"temperature", "hot"}}).get();
  CHECK(refused.status == Status::kModelInvalidValue);
  CHECK(refused.error.find("expected a number") != std::string::npos);
  // Every request of model::Device has its future: batches and desired values too.
  const auto batch =
      runner.post_batch(json::array({{{"properties", {{"humidity", {{"value", 40.0}}}}}}}), false)
          .get();
  CHECK(batch.status == Status::kOk);
  CHECK(batch.reply.code == 200);
  const auto history =
      runner
          .post_batch(
              json::array(
                  {{{"properties",
                     {{"humidity",
                       {{{"value", 41.0}, {"time", 1000}}, {{"value", 42.0}, {"time", 2000}}}}}}}}),
              true)
          .get();
  CHECK(history.status == Status::kOk);
  CHECK(history.reply.code == 200);
  const auto deleted = runner.delete_desired({{"interval", -1}}).get();
  CHECK(deleted.status == Status::kOk);
  CHECK(deleted.reply.code == 200);
  CHECK(runner.delete_desired({{"nope", -1}}).get().status == Status::kModelInvalidValue);
  const auto event = runner.post_event("overheat", {{"temperature", 31.0}}).get();
  CHECK(event.status == Status::kOk);
  CHECK(event.reply.code == 200);
  const auto desired = runner.get_desired({"interval"}).get();
  CHECK(desired.status == Status::kOk);
  CHECK(desired.reply.code == 200);
  const auto raw =
      runner.request(onenet::model::Operation::kPropertyPost, {{"humidity", {{"value", 43.0}}}})
          .get();
  CHECK(raw.status == Status::kOk);
  CHECK(raw.reply.code == 200);
  runner.stop();
  auto after_stop = runner.post_properties({{"temperature", 21.0}});  // nobody would run it
  REQUIRE(after_stop.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  CHECK(after_stop.get().status == Status::kClientNotConnected);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-telemetry sample: reports, answers the cloud, raises overheat, stops cleanly") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const std::string model_path = ONENET_SOURCE_DIR "/samples/telemetry/thing-model.json";
  auto device =
      Process::start({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()), "--product",
                      kProduct, "--device", "sensor-1", "--key", cloud.device_key(), "--interval",
                      "1", "--threshold", "25.5", "--tsl", model_path});
  REQUIRE(device);
  auto has = [](const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  };
  REQUIRE(device->wait_for_line(has("connected"), 20000));
  REQUIRE(device->wait_for_line(has("reported temperature 25.0: reply 200 success"), 20000));
  // The wave passes 25.5 degrees at the next report.
  CHECK(device->wait_for_line(has("event overheat: ok, reply 200"), 20000));
  const auto http = [&](const std::string& path, const json& body) {
    return std::async(std::launch::async,
                      [&cloud, path, body] { return cloud.curl("POST", path, body.dump()); });
  };
  auto set =
      http("/thingmodel/set-device-property",
           {{"product_id", kProduct}, {"device_name", "sensor-1"}, {"params", {{"interval", 2}}}});
  CHECK(device->wait_for_line(has("property set: interval = 2 s"), 20000));
  CHECK(set.get().value("code", -1) == 0);
  auto call = http("/thingmodel/call-service", {{"product_id", kProduct},
                                                {"device_name", "sensor-1"},
                                                {"identifier", "reboot"},
                                                {"params", {{"delay", 3}}}});
  CHECK(device->wait_for_line(has("service reboot called (delay 3 s)"), 20000));
  const json answer = call.get();
  CHECK(answer.value("code", -1) == 0);
  CHECK(answer["data"] == json{{"result", "rebooting in 3 s"}});
  const json latest =
      cloud.curl("GET", "/thingmodel/query-device-property?product_id=" + std::string(kProduct) +
                            "&device_name=sensor-1");
  CHECK(latest["data"].size() == 3);  // temperature, humidity, interval

  device->signal(SIGTERM);
  CHECK(device->wait_for_line(has("disconnected"), 20000));
  CHECK(device->wait(20000) == 0);
  CHECK(cloud
            .curl("GET", "/device/detail?product_id=" + std::string(kProduct) +
                             "&device_name=sensor-1")["data"]
            .value("status", -1) == 0);

  // --count: it stops by itself once the last report is answered.
  std::string out;
  CHECK(itest::run({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kProduct, "--device", "sensor-1", "--key", cloud.device_key(), "--interval",
                    "1", "--count", "2"},
                   30000, &out) == 0);
  size_t answered = 0;
  for (size_t at = out.find("reply 200"); at != std::string::npos;
       at = out.find("reply 200", at + 1))
    ++answered;
  CHECK(answered == 2);

  // Flags it cannot use: one line, exit 2, nothing sent.
  for (const char* threshold : {"nan", "inf"}) {
    CHECK(itest::run({ONENET_TELEMETRY_PATH, "--product", kProduct, "--device", "sensor-1", "--key",
                      cloud.device_key(), "--threshold", threshold},
                     30000, &out) == 2);
    CHECK(out == "onenet-telemetry: --threshold: expected a finite number (see --help)\n");
  }
  // TLS always verifies the server: without a CA it cannot. It said "system store" and then
  // retried a CA it could not load, forever.
  CHECK(itest::run({ONENET_TELEMETRY_PATH, "--product", kProduct, "--device", "sensor-1", "--key",
                    cloud.device_key(), "--tls"},
                   30000, &out) == 2);
  CHECK(out == "onenet-telemetry: --tls requires --cafile (see --help)\n");
  CHECK(itest::run({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kProduct, "--device", "sensor-1", "--key", cloud.device_key(), "--tls",
                    "--cafile", "/nonexistent/ca.pem"},
                   30000, &out) == 1);
  CHECK(out.find("stopped: TLS: the CA certificate could not be loaded") != std::string::npos);
  CHECK(cloud.stop());
}
