// onenet-local's HTTP API, called with curl: auth, devices, and commands that reach a device.
#include <doctest/doctest.h>

#include <algorithm>

#include "live_client.hpp"
#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::Process;
using itest::run;
using nlohmann::json;
using onenet::Status;

namespace {

constexpr const char* kProduct = "Ck2AF9QD2K";

// A device on our client that answers property/set and service invocations as told.
struct Responder : itest::LiveClient {
  Responder(uint16_t port, const std::string& device, const std::string& key)
      : LiveClient(std::make_unique<onenet::platform::TcpTransport>("127.0.0.1", port), device),
        device_(device) {
    options.profile = onenet::client::Profile::kOneNet;
    log_in_as(kProduct,
              OnenetLocal::token("products/" + std::string(kProduct) + "/devices/" + device, key));
    options.connect.keep_alive_seconds = 60;
  }
  bool start() {
    if (connect() != Status::kOk || !poll_until([&] { return connected(); })) return false;
    filter_ = "$sys/" + std::string(kProduct) + "/" + device_ + "/thing/#";
    const onenet::codec::Subscription sub{filter_, onenet::codec::QoS::kAtMostOnce};
    return client().subscribe(&sub, 1) == Status::kOk &&
           poll_until([&] { return subscribed == 1; });
  }
  void on_message(const onenet::client::Message& m) override {
    LiveClient::on_message(m);
    const json request = json::parse(m.payload.as_text(), nullptr, false);
    const std::string_view topic_name = m.topic;
    const bool is_request =
        topic_name.size() > 4 && (topic_name.substr(topic_name.size() - 4) == "/set" ||
                                  topic_name.substr(topic_name.size() - 7) == "/invoke");
    if (!answer || !is_request || !request.is_object()) return;
    json reply = {{"id", request.value("id", "")},
                  {"code", code},
                  {"msg", code == 200 ? "ok" : "device says no"}};
    if (!data.is_null()) reply["data"] = data;
    const std::string topic = std::string(m.topic) + "_reply";
    (void)client().publish(topic, std::string_view(reply.dump()), onenet::codec::QoS::kAtMostOnce);
  }
  bool answer = true;
  int code = 200;
  json data;

 private:
  std::string device_;
  std::string filter_;
};

// Runs curl in the background while `device` keeps polling, so the device can answer.
json curl_while_polling(const OnenetLocal& cloud, itest::LiveClient& device,
                        const std::string& path, const json& body) {
  auto curl =
      Process::start({"curl", "-s", "-S", "--max-time", "20", "-X", "POST", cloud.http() + path,
                      "-H", "authorization: " + cloud.user_token(), "-H",
                      "Content-Type: application/json", "--data-binary", body.dump()});
  REQUIRE(curl);
  REQUIRE(device.poll_until([&] { return !curl->running(); }, 30000));
  curl->wait(1000);
  return json::parse(curl->remaining(), nullptr, false);
}

std::string query(const std::string& device) {
  return "?product_id=" + std::string(kProduct) + "&device_name=" + device;
}

}  // namespace

TEST_CASE("HTTP auth: no token, a bad token, a token for another product -> 10403") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  CHECK(cloud.curl("GET", "/device/detail" + query("dev1"), "", "")["code"] == 10403);
  const std::string forged =
      OnenetLocal::token("userid/" + cloud.info["user"]["id"].get<std::string>(),
                         "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "2022-05-01");
  const json refused = cloud.curl("GET", "/device/detail" + query("dev1"), "", forged);
  CHECK(refused["code"] == 10403);
  CHECK(refused["msg"].get<std::string>().find("signature") != std::string::npos);
  CHECK(cloud.curl("GET", "/device/detail" + query("dev1"))["code"] == 0);
  // A device token opens that device only.
  const std::string device_token = cloud.device_token(kProduct, "dev1");
  CHECK(cloud.curl("GET", "/device/detail" + query("dev1"), "", device_token)["code"] == 0);
  CHECK(cloud.curl("GET", "/device/detail" + query("dev2"), "", device_token)["code"] == 10403);
  CHECK(cloud.stop());
}

TEST_CASE("devices: create -> detail -> list -> delete; an existing name is refused") {
  OnenetLocal cloud;
  REQUIRE(cloud.start());
  const json created =
      cloud.curl("POST", "/device/create",
                 R"({"product_id":"Ck2AF9QD2K","device_name":"made-over-http","desc":"x"})");
  REQUIRE(created["code"] == 0);
  const std::string key = created["data"]["sec_key"].get<std::string>();
  CHECK(key.size() == 44);
  CHECK(cloud.curl("POST", "/device/create",
                   R"({"product_id":"Ck2AF9QD2K","device_name":"made-over-http"})")["code"] ==
        10406);
  CHECK(cloud.curl("POST", "/device/create",
                   R"({"product_id":"Ck2AF9QD2K","device_name":"bad name!"})")["code"] == 10400);
  CHECK(cloud.curl("POST", "/device/create", "not json")["code"] == 10400);
  // desc: at most 100 characters (Chinese ones count one each, not three bytes).
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "\xE4\xB8\xAD";  // U+4E2D
  CHECK(cloud.curl("POST", "/device/create",
                   R"({"product_id":"DescProd","device_name":"d100","desc":")" + hundred +
                       R"("})")["code"] == 0);
  const json too_long =
      cloud.curl("POST", "/device/create",
                 R"({"product_id":"DescProd","device_name":"d101","desc":")" + hundred + R"(x"})");
  CHECK(too_long["code"] == 10400);
  CHECK(too_long["msg"] == "desc: at most 100 characters");

  const json detail = cloud.curl("GET", "/device/detail" + query("made-over-http"));
  CHECK(detail["data"]["name"] == "made-over-http");
  CHECK(detail["data"]["status"] == 2);  // never connected

  // The device made over HTTP logs in with the key it was given.
  const std::string token =
      OnenetLocal::token("products/" + std::string(kProduct) + "/devices/made-over-http", key);
  CHECK(run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(cloud.port()), "-i",
             "made-over-http", "-u", kProduct, "-P", token, "-t",
             "$sys/Ck2AF9QD2K/made-over-http/thing/property/post", "-m", "{}"}) == 0);

  for (int i = 0; i < 12; ++i) {
    REQUIRE(cloud.curl("POST", "/device/create",
                       json{{"product_id", kProduct}, {"device_name", "d" + std::to_string(i)}}
                           .dump())["code"] == 0);
  }
  const json page = cloud.curl("GET", "/device/list?product_id=Ck2AF9QD2K&offset=10&limit=5");
  CHECK(page["data"]["total"] == 13);
  CHECK(page["data"]["list"].size() == 3);

  CHECK(cloud.curl("POST", "/device/delete",
                   R"({"product_id":"Ck2AF9QD2K","device_name":"made-over-http"})")["code"] == 0);
  CHECK(cloud.curl("GET", "/device/detail" + query("made-over-http"))["code"] == 10404);
  CHECK(cloud.stop());
}

TEST_CASE("no key or token in any log: a device's, onenet-local's events, mosquitto's") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/sensor-1", "--seed-device",
                     std::string(kProduct) + "/gw", "--seed-device",
                     std::string(kProduct) + "/sub"});
  REQUIRE(cloud.start());
  // A gateway binds a sub-device with its sasToken: a login token of the sub-device.
  const json sas_token_request = {
      {"id", "1"},
      {"params",
       {{"productID", kProduct},
        {"deviceName", "sub"},
        {"sasToken", OnenetLocal::token("products/" + std::string(kProduct) + "/devices/sub",
                                        cloud.device_key(2))}}}};
  CHECK(cloud.exchange(kProduct, "gw", 1, "thing/sub/topo/add", "thing/sub/topo/add/reply",
                       sas_token_request.dump())["code"] == 200);
  // A device that logs in and reports, and the HTTP calls that carry keys in their answers.
  std::string device_log;
  CHECK(
      run({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()), "--product", kProduct,
           "--device", "sensor-1", "--key", cloud.device_key(), "--interval", "1", "--count", "1"},
          30000, &device_log) == 0);
  const json created = cloud.curl("POST", "/device/create",
                                  R"({"product_id":"Ck2AF9QD2K","device_name":"made-over-http"})");
  REQUIRE(created["code"] == 0);
  CHECK(cloud.curl("GET", "/device/detail" + query("sensor-1"))["code"] == 0);
  CHECK(cloud.curl("GET", "/device/list?product_id=Ck2AF9QD2K")["code"] == 0);
  REQUIRE(cloud.stop());

  std::vector<std::string> secrets = {cloud.device_key(0),
                                      cloud.device_key(1),
                                      cloud.device_key(2),
                                      created["data"]["sec_key"].get<std::string>(),
                                      cloud.info["user"]["access_key"].get<std::string>(),
                                      "sign="};  // any token
  for (const json& product : cloud.info["products"])
    secrets.push_back(product["access_key"].get<std::string>());
  const std::pair<std::string, std::string> logs[] = {
      {"the device's output", device_log},
      {"events.jsonl", itest::read_file(cloud.events_path())},
      {"mosquitto.log", itest::read_file(cloud.data_dir() + "/mosquitto.log")}};
  for (const auto& log : logs) {
    CAPTURE(log.first);
    CHECK(log.second.size() > 0);
    for (const std::string& secret : secrets) {
      CAPTURE(secret);
      CHECK(log.second.find(secret) == std::string::npos);
    }
  }
}

TEST_CASE("a device deleted while online is disconnected, and cannot log in again") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  const std::string token = cloud.device_token(kProduct, "dev1");
  auto device = itest::LiveClient::onenet_device(cloud.port(), kProduct, "dev1", token);
  REQUIRE(device->connect() == Status::kOk);
  REQUIRE(device->poll_until([&] { return device->connected(); }));

  CHECK(cloud.curl("POST", "/device/delete",
                   R"({"product_id":"Ck2AF9QD2K","device_name":"dev1"})")["code"] == 0);
  // Before, it stayed connected (and publishing) for as long as its link lasted.
  REQUIRE(device->poll_until(
      [&] { return device->client().state() == onenet::client::State::kBackoff; }));
  CHECK(device->reasons.back() == Status::kTransportClosed);
  // Its next login is refused: the device no longer exists.
  REQUIRE(device->poll_until(
      [&] { return device->reasons.back() == Status::kClientConnackNotAuthorized; }));
  CHECK(device->connects == 1);
  bool kicked = false;
  for (const json& e : cloud.events())
    kicked =
        kicked || (e.value("event", "") == "kick" && e.value("reason", "") == "device deleted");
  CHECK(kicked);
  CHECK(cloud.stop());
}

TEST_CASE("bad input over HTTP: wrong types and bytes that are not UTF-8 are answered") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  CHECK(cloud.curl("POST", "/device/create", R"({"product_id":5,"device_name":true})")["code"] ==
        10400);
  // %FF decodes to a byte that is not UTF-8: the cloud logs and answers with U+FFFD in its place.
  CHECK(cloud.curl("GET", "/device/detail" + query("%FF"))["code"] == 10404);
  const json created = cloud.curl("POST", "/device/create?desc=%FFok",
                                  R"({"product_id":"Ck2AF9QD2K","device_name":"odd-desc"})");
  REQUIRE(created["code"] == 0);
  CHECK(created["data"]["desc"] == "\xEF\xBF\xBDok");
  CHECK(cloud.curl("GET",
                   "/device/list?product_id=Ck2AF9QD2K&offset=%FF&limit=x")["data"]["total"] == 2);
  CHECK(cloud.curl("GET", "/device/detail" + query("dev1"))["code"] == 0);  // still alive
  CHECK(cloud.stop());
}

TEST_CASE("a request body over 1 MiB is refused with HTTP 413, before it is read") {
  OnenetLocal cloud;
  REQUIRE(cloud.start());
  itest::TempDir dir;
  const std::string body_file = dir.file("big.json");
  {
    std::FILE* f = std::fopen(body_file.c_str(), "wb");
    REQUIRE(f != nullptr);
    const std::string chunk(64 * 1024, ' ');
    for (int i = 0; i < 32; ++i)
      REQUIRE(std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size());
    std::fclose(f);
  }
  std::string http_status;
  REQUIRE(run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "-X",
               "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + body_file,
               cloud.http() + "/device/create"},
              30000, &http_status) == 0);
  CHECK(http_status == "413");
  CHECK(cloud.curl("POST", "/device/create",
                   R"({"product_id":"Ck2AF9QD2K","device_name":"after-big"})")["code"] == 0);
  CHECK(cloud.stop());
}

TEST_CASE("a restart with the same --data-dir keeps the devices") {
  itest::TempDir dir;
  std::string key;
  {
    OnenetLocal first({}, dir.path());
    REQUIRE(first.start());
    const json created = first.curl("POST", "/device/create",
                                    R"({"product_id":"Ck2AF9QD2K","device_name":"keeper"})");
    REQUIRE(created["code"] == 0);
    key = created["data"]["sec_key"].get<std::string>();
    CHECK(first.stop());
  }
  OnenetLocal second({}, dir.path());
  REQUIRE(second.start());
  const json detail = second.curl("GET", "/device/detail" + query("keeper"));
  REQUIRE(detail["code"] == 0);
  CHECK(detail["data"]["sec_key"] == key);
  CHECK(second.stop());
}

TEST_CASE("set-device-property reaches the device and returns its set_reply") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  Responder device(cloud.port(), "dev1", cloud.device_key());
  REQUIRE(device.start());
  json answer = curl_while_polling(
      cloud, device, "/thingmodel/set-device-property",
      {{"product_id", kProduct}, {"device_name", "dev1"}, {"params", {{"interval", 30}}}});
  CHECK(answer["code"] == 0);
  REQUIRE(device.messages.size() >= 1);  // the request (its own reply may echo back after it)
  const json seen = json::parse(device.messages[0], nullptr, false);
  CHECK(seen["params"]["interval"] == 30);
  CHECK(device.topics[0] == "$sys/Ck2AF9QD2K/dev1/thing/property/set");

  device.code = 500;  // the device refuses: its code and message come back
  answer = curl_while_polling(
      cloud, device, "/thingmodel/set-device-property",
      {{"product_id", kProduct}, {"device_name", "dev1"}, {"params", {{"interval", 31}}}});
  CHECK(answer["code"] == 10413);
  CHECK(answer["msg"] == "device says no");
  CHECK(cloud.stop());
}

TEST_CASE("call-service returns the device's output; a silent device times out after 5 s") {
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1"});
  REQUIRE(cloud.start());
  Responder device(cloud.port(), "dev1", cloud.device_key());
  REQUIRE(device.start());
  device.data = {{"result", "rebooting"}};
  json answer = curl_while_polling(cloud, device, "/thingmodel/call-service",
                                   {{"product_id", kProduct},
                                    {"device_name", "dev1"},
                                    {"identifier", "reboot"},
                                    {"params", {{"delay", 3}}}});
  CHECK(answer["code"] == 0);
  CHECK(answer["data"]["result"] == "rebooting");
  CHECK(std::count(device.topics.begin(), device.topics.end(),
                   "$sys/Ck2AF9QD2K/dev1/thing/service/reboot/invoke") == 1);

  device.answer = false;
  answer = curl_while_polling(cloud, device, "/thingmodel/call-service",
                              {{"product_id", kProduct},
                               {"device_name", "dev1"},
                               {"identifier", "reboot"},
                               {"params", json::object()}});
  CHECK(answer["code"] == 10410);
  CHECK(cloud.stop());
}

TEST_CASE("commands to an offline device fail at once; the thing model refuses bad commands") {
  itest::TempDir dir;
  itest::write_file(dir.file("tsl.json"),
                    R"({"properties":[{"identifier":"interval","accessMode":"rw",
    "dataType":{"type":"int32","specs":{"min":"1","max":"3600"}}},{"identifier":"temp","accessMode":"r",
    "dataType":{"type":"float","specs":{}}}],"events":[],"services":[]})");
  OnenetLocal cloud({"--seed-device", std::string(kProduct) + "/dev1", "--tsl",
                     std::string(kProduct) + "=" + dir.file("tsl.json")});
  REQUIRE(cloud.start());
  const std::string set = "/thingmodel/set-device-property";
  CHECK(
      cloud.curl(
          "POST", set,
          R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":{"interval":30}})")["code"] ==
      10408);
  json refused = cloud.curl(
      "POST", set, R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":{"interval":0}})");
  CHECK(refused["code"] == 10412);
  CHECK(refused["msg"].get<std::string>().find("below the minimum") != std::string::npos);
  refused = cloud.curl("POST", set,
                       R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","params":{"temp":3.5}})");
  CHECK(refused["msg"].get<std::string>().find("read-only") != std::string::npos);
  CHECK(cloud.curl(
            "POST", "/thingmodel/call-service",
            R"({"product_id":"Ck2AF9QD2K","device_name":"dev1","identifier":"nope"})")["code"] ==
        10412);
  CHECK(cloud.curl("POST", set,
                   R"({"product_id":"Ck2AF9QD2K","device_name":"ghost","params":{}})")["code"] ==
        10404);
  CHECK(cloud.stop());
}
