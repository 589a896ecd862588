// Data-stream products (onenet-protocol.md section 4.6) through onenet-local: model::Device in
// DataProtocol::kDataStream posts data points the cloud keeps, and answers commands sent over
// the HTTP API; onenet-local refuses what a raw client gets wrong.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include "live_device.hpp"
#include "onenet/auth/encoding.hpp"
#include "onenet/model/device.hpp"
#include "onenet/platform/device_runner.hpp"
#include "onenet_local.hpp"

using itest::OnenetLocal;
using itest::Process;
using nlohmann::json;
using onenet::Status;

namespace {

constexpr const char* kProduct = "DsProd0001";  // a data-stream product
constexpr const char* kOneJsonProduct = "Ck2AF9QD2K";

struct Meter : onenet::model::CommandHandler {
  std::optional<std::string> on_command(const std::string& id, std::string_view payload) override {
    commands.emplace_back(id, std::string(payload));
    if (!respond) return std::nullopt;
    return "ok:" + std::string(payload);
  }
  void on_command_answered(const std::string& id, Status status,
                           const onenet::model::Reply& outcome) override {
    answered.push_back(id + " " + onenet::to_string(status) + " " + std::to_string(outcome.code) +
                       " " + outcome.msg);
  }
  void on_image_delta(const json& delta) override { deltas.push_back(delta); }
  bool respond = true;
  std::vector<json> deltas;
  std::vector<std::pair<std::string, std::string>> commands;  // cmdid, payload
  std::vector<std::string> answered;                          // "cmdid status code msg"
};

struct Device : itest::LiveDevice<Meter> {
  explicit Device(const OnenetLocal& cloud)
      : LiveDevice(cloud.port(), kProduct, "meter-1", cloud.device_key()) {
    options.protocol = onenet::model::DataProtocol::kDataStream;
    options.request_timeout_ms = 5000;
  }
};

std::vector<std::string> cloud_args() {
  return {"--datastream",  kProduct,
          "--seed-device", std::string(kProduct) + "/meter-1",
          "--seed-device", std::string(kOneJsonProduct) + "/dev1"};
}

// POSTs a command over HTTP in a curl of its own, so that the test can poll the device meanwhile.
std::unique_ptr<Process> start_command(const OnenetLocal& cloud, const json& body) {
  auto curl = Process::start({"curl", "-s", "-S", "--max-time", "30", "-X", "POST",
                              cloud.http() + "/local/datastream/command", "-H",
                              "authorization: " + cloud.user_token(), "-H",
                              "Content-Type: application/json", "--data-binary", body.dump()});
  REQUIRE(curl);
  return curl;
}

// The answer of a command started with start_command, polling the device until it comes.
json finish_command(Device& device, Process& curl) {
  REQUIRE(device.poll_until([&] { return !curl.running(); }, 40000));
  curl.wait(1000);
  return json::parse(curl.remaining(), nullptr, false);
}

json command_while_polling(const OnenetLocal& cloud, Device& device, const json& body) {
  const auto curl = start_command(cloud, body);
  return finish_command(device, *curl);
}

// A device's numeric id, which OneNET's legacy API names devices by.
std::string did_of(const OnenetLocal& cloud, const std::string& product,
                   const std::string& device) {
  const json detail =
      cloud.curl("GET", "/device/detail?product_id=" + product + "&device_name=" + device);
  REQUIRE(detail["code"] == 0);
  return std::to_string(detail["data"]["did"].get<int64_t>());
}

// OneNET's legacy PUT /mqtt/v1/devices/{device_id}/image/properties with `body`.
json put_image(const OnenetLocal& cloud, const std::string& did, const std::string& body) {
  return cloud.curl("PUT", "/mqtt/v1/devices/" + did + "/image/properties", body);
}

// onenet-datastream as meter-1, reporting every second.
std::unique_ptr<Process> start_meter(const OnenetLocal& cloud) {
  auto meter = Process::start({ONENET_DATASTREAM_PATH, "--port", std::to_string(cloud.port()),
                               "--product", kProduct, "--device", "meter-1", "--key",
                               cloud.device_key(), "--interval", "1"});
  REQUIRE(meter);
  return meter;
}

// A line of output that holds `text`.
std::function<bool(const std::string&)> has(const std::string& text) {
  return [text](const std::string& line) { return line.find(text) != std::string::npos; };
}

std::string base64_decode(const std::string& text) {
  std::string out(onenet::auth::base64_decoded_max_length(text.size()), '\0');
  const auto n =
      onenet::auth::base64_decode(text, reinterpret_cast<uint8_t*>(out.data()), out.size());
  REQUIRE(n.ok());
  out.resize(n.value());
  return out;
}

}  // namespace

TEST_CASE("data streams: points are accepted and kept; commands reach the device and return") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  bool listed = false;
  for (const json& p : cloud.info["products"])
    listed = listed || (p["id"] == kProduct && p["protocol"] == "datastream");
  CHECK(listed);
  Device meter(cloud);
  REQUIRE(meter.start());

  // Points: one per stream, then a series with its own times.
  onenet::model::Reply reply = meter.await([](onenet::model::Device& d, auto done) {
    return d.post_datapoints({{"power", 4.5}, {"status", {{"color", "blue"}}}}, done, 1700000000);
  });
  CHECK(reply.code == 200);
  reply = meter.await([](onenet::model::Device& d, auto done) {
    return d.post_datapoint_series(
        json::parse(R"({"power":[{"v":4.75,"t":1700000060},{"v":5,"t":1700000120}]})"), done);
  });
  CHECK(reply.code == 200);
  const json points = cloud.curl("GET", std::string("/local/datastream/points?product_id=") +
                                            kProduct + "&device_name=meter-1");
  REQUIRE(points["code"] == 0);
  const json expected = json::parse(R"([
    {"id":"power","datapoints":[{"at":1700000000,"value":4.5},{"at":1700000060,"value":4.75},
                                {"at":1700000120,"value":5}]},
    {"id":"status","datapoints":[{"at":1700000000,"value":{"color":"blue"}}]}])");
  CHECK(points["data"]["datastreams"] == expected);

  // A command in text: the device's response comes back as the HTTP answer.
  json answer = command_while_polling(
      cloud, meter, {{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "open"}});
  REQUIRE(answer["code"] == 0);
  REQUIRE(meter.app.commands.size() == 1);
  const std::string first_id = meter.app.commands[0].first;
  CHECK(answer["data"]["cmd_uuid"] == first_id);
  CHECK(meter.app.commands[0].second == "open");
  CHECK(base64_decode(answer["data"]["cmd_resp"]) == "ok:open");
  REQUIRE(meter.poll_until([&] { return !meter.app.answered.empty(); }));
  CHECK(meter.app.answered[0] == first_id + " ok 200 accepted");

  // Any bytes, through command_base64 ("AP8=" is 0x00 0xFF).
  answer = command_while_polling(
      cloud, meter,
      {{"product_id", kProduct}, {"device_name", "meter-1"}, {"command_base64", "AP8="}});
  REQUIRE(answer["code"] == 0);
  REQUIRE(meter.app.commands.size() == 2);
  CHECK(meter.app.commands[1].second == std::string("\x00\xff", 2));
  CHECK(base64_decode(answer["data"]["cmd_resp"]) == std::string("ok:\x00\xff", 5));
  // The HTTP answer can come before the device hears the cloud's verdict: wait for it.
  REQUIRE(meter.poll_until([&] { return meter.app.answered.size() == 2; }));
  CHECK(meter.app.answered[1] == meter.app.commands[1].first + " ok 200 accepted");

  // Responses the cloud refuses: a second one, and one to a command it never sent.
  const std::string root = std::string("$sys/") + kProduct + "/meter-1/cmd/response/";
  const auto respond = [&](const std::string& id, const std::string& bytes) {
    REQUIRE(meter.device.client()
                .publish(root + id, std::string_view(bytes), onenet::codec::QoS::kAtLeastOnce)
                .ok());
  };
  meter.app.answered.clear();
  respond(first_id, "again");
  respond("no-such-command", "x");
  REQUIRE(meter.poll_until([&] { return meter.app.answered.size() == 2; }));
  CHECK(meter.app.answered[0] == first_id + " ok 113 the command was answered already");
  CHECK(meter.app.answered[1] == "no-such-command ok 113 unknown cmdid");

  // A response of 1 KB is refused (code 99) and the command still waits for a good one.
  meter.app.respond = false;
  meter.app.answered.clear();
  const auto curl = start_command(
      cloud, {{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "slow"}});
  REQUIRE(meter.poll_until([&] { return meter.app.commands.size() == 3; }));
  const std::string slow_id = meter.app.commands[2].first;
  respond(slow_id, std::string(1024, 'r'));
  REQUIRE(meter.poll_until([&] { return meter.app.answered.size() == 1; }));
  CHECK(meter.app.answered[0] == slow_id + " ok 99 response of 1024 bytes: at most 1023");
  respond(slow_id, "fine");
  answer = finish_command(meter, *curl);
  CHECK(answer["code"] == 0);
  CHECK(base64_decode(answer["data"]["cmd_resp"]) == "fine");
  REQUIRE(meter.poll_until([&] { return meter.app.answered.size() == 2; }));
  CHECK(meter.app.answered[1] == slow_id + " ok 200 accepted");

  // A device that does not respond: the call ends at its timeout; a late response is refused.
  answer = command_while_polling(
      cloud, meter,
      {{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "x"}, {"timeout", 1}});
  CHECK(answer["code"] == 10410);
  CHECK(answer["msg"] == "the device did not respond within 1 s");
  REQUIRE(meter.app.commands.size() == 4);
  const std::string late_id = meter.app.commands[3].first;
  CHECK(answer["data"]["cmd_uuid"] == late_id);
  meter.app.answered.clear();
  respond(late_id, "late");
  REQUIRE(meter.poll_until([&] { return meter.app.answered.size() == 1; }));
  CHECK(meter.app.answered[0] == late_id + " ok 112 the command timed out");
  CHECK(cloud.stop());
}

TEST_CASE(
    "data streams: bad points get err_code 98; each protocol's calls stay with its products") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  // mosquitto_rr waits on one answer topic (no wildcard): the one the test expects.
  const auto post = [&](const std::string& payload, const char* answer = "rejected") {
    return cloud.exchange(kProduct, "meter-1", 0, "dp/post/json",
                          std::string("dp/post/json/") + answer, payload);
  };
  const json rejected = json::parse(R"({"id":5,"err_code":98,"err_msg":"Illegal Data"})");
  CHECK(post(R"({"id":5,"dp":{"bad name":[{"v":1}]}})") == rejected);
  CHECK(post(R"({"id":5,"dp":{"power":[]}})") == rejected);
  CHECK(post(R"({"id":5,"dp":{"power":[{"v":1,"t":1700000000000}]}})") == rejected);
  CHECK(post(R"({"id":5})") == rejected);
  // An id it cannot read: -1.
  const json unread = json::parse(R"({"id":-1,"err_code":98,"err_msg":"Illegal Data"})");
  CHECK(post(R"({"id":)") == unread);
  CHECK(post(R"({"id":0,"dp":{"power":[{"v":1}]}})") == unread);
  CHECK(post(R"({"id":"5","dp":{"power":[{"v":1}]}})") == unread);
  // Still answering, and the refusals' reasons are in the event log.
  CHECK(post(R"({"id":6,"dp":{"power":[{"v":1}]}})", "accepted") == json::parse(R"({"id":6})"));
  bool reason_logged = false;
  for (const json& e : cloud.events()) {
    reason_logged = reason_logged || (e.value("event", "") == "datapoints" &&
                                      e.value("error", "").find("bad name") != std::string::npos);
  }
  CHECK(reason_logged);

  // OneJSON on a data-stream product, and data points on a OneJSON product.
  const json onejson =
      cloud.exchange(kProduct, "meter-1", 0, "thing/property/post", "thing/property/post/reply",
                     R"({"id":"7","params":{"power":{"value":1}}})");
  CHECK(onejson["code"] == 400);
  CHECK(onejson["msg"].get<std::string>().find("data-stream protocol") != std::string::npos);
  CHECK(cloud.exchange(kOneJsonProduct, "dev1", 1, "dp/post/json", "dp/post/json/rejected",
                       R"({"id":8,"dp":{"power":[{"v":1}]}})") ==
        json::parse(R"({"id":8,"err_code":98,"err_msg":"Illegal Data"})"));

  // Commands over HTTP: not to a OneJSON product, not to an offline device, not without one.
  const auto command = [&](const json& body) {
    return cloud.curl("POST", "/local/datastream/command", body.dump());
  };
  CHECK(command(
            {{"product_id", kOneJsonProduct}, {"device_name", "dev1"}, {"command", "x"}})["code"] ==
        10400);
  CHECK(command({{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "x"}})["code"] ==
        10408);
  CHECK(command({{"product_id", kProduct}, {"device_name", "meter-1"}})["code"] == 10400);
  CHECK(command({{"product_id", kProduct},
                 {"device_name", "meter-1"},
                 {"command_base64", "%%"}})["code"] == 10400);
  CHECK(command({{"product_id", kProduct},
                 {"device_name", "meter-1"},
                 {"command", "x"},
                 {"timeout", 61}})["code"] == 10400);
  CHECK(command({{"product_id", kProduct}, {"device_name", "nobody"}, {"command", "x"}})["code"] ==
        10404);
  CHECK(cloud.stop());
}

TEST_CASE("data streams: DeviceRunner posts points and images with futures; commands reach it") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  onenet::platform::TcpTransport transport("127.0.0.1", cloud.port());
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<16384, 16384, 32768, 32, 512>>();
  Meter meter;
  onenet::model::Device device(transport, clock, onenet::platform::system_random,
                               onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                               storage->view(), meter);
  onenet::platform::DeviceRunner runner(device, transport);
  onenet::model::DeviceOptions options;
  options.protocol = onenet::model::DataProtocol::kDataStream;
  options.product_id = kProduct;
  options.device_name = "meter-1";
  options.access_key = cloud.device_key();
  options.device_image = true;
  REQUIRE(runner.start(options) == Status::kOk);

  auto one = runner.post_datapoints({{"power", 3.5}}, 1700000300);
  auto series = runner.post_datapoint_series(json::parse(R"({"power":[{"v":3.75}]})"));
  for (auto* f : {&one, &series}) {
    REQUIRE(f->wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    const auto r = f->get();
    CHECK(r.status == Status::kOk);
    CHECK(r.reply.code == 200);
  }
  const auto refused = runner.post_datapoints({{"no spaces", 1}}).get();
  CHECK(refused.status == Status::kModelInvalidValue);
  CHECK(refused.error.find("stream 'no spaces'") != std::string::npos);

  // The device image: matched in order, as futures, from any thread.
  auto reported = runner.update_image({{"interval", 5}}, nullptr);
  auto image = runner.get_image();
  REQUIRE(reported.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(reported.get().reply.code == 200);
  REQUIRE(image.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const auto read = image.get();
  CHECK(read.status == Status::kOk);
  CHECK(read.reply.data["state"]["reported"] == json{{"interval", 5}});
  const auto bad_image = runner.update_image({{"bad key", 1}}, nullptr).get();
  CHECK(bad_image.status == Status::kModelInvalidValue);
  CHECK(bad_image.error == "reported: key 'bad key': 1 to 30 letters, digits or '_'");
  const auto wrong_protocol = runner.post_properties({{"power", 1}}).get();
  CHECK(wrong_protocol.status == Status::kInvalidArgument);

  // The handler runs on the runner's thread; this thread only reads the answer over HTTP.
  const json answer = cloud.curl(
      "POST", "/local/datastream/command",
      json{{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "ping"}}.dump());
  CHECK(answer["code"] == 0);
  CHECK(base64_decode(answer["data"]["cmd_resp"]) == "ok:ping");
  runner.stop();
  CHECK(meter.commands.size() == 1);
  const json points = cloud.curl("GET", std::string("/local/datastream/points?product_id=") +
                                            kProduct + "&device_name=meter-1");
  REQUIRE(points["data"]["datastreams"].size() == 1);
  const json& kept = points["data"]["datastreams"][0]["datapoints"];
  REQUIRE(kept.size() == 2);
  CHECK(kept[0] == json::parse(R"({"at":1700000300,"value":3.5})"));
  CHECK(kept[1]["value"] == 3.75);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-datastream sample: reports points, answers commands, stops cleanly") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  auto meter = start_meter(cloud);
  REQUIRE(meter->wait_for_line(has("connected"), 20000));
  REQUIRE(meter->wait_for_line(has(": 200 accepted"), 20000));
  REQUIRE(meter->wait_for_line(has(": 200 accepted"), 20000));  // a second report

  const auto command = [&](const json& body) {
    return cloud.curl("POST", "/local/datastream/command", body.dump());
  };
  const json base = {{"product_id", kProduct}, {"device_name", "meter-1"}};
  json body = base;
  body["command"] = "read";
  json answer = command(body);
  REQUIRE(answer["code"] == 0);
  const json reading = json::parse(base64_decode(answer["data"]["cmd_resp"]), nullptr, false);
  CHECK(reading["voltage"].is_number());
  CHECK(reading["power"].is_number());
  body["command"] = "interval 2";
  answer = command(body);
  REQUIRE(answer["code"] == 0);
  CHECK(base64_decode(answer["data"]["cmd_resp"]) == R"({"interval":2,"ok":true})");
  CHECK(meter->wait_for_line(has("interval = 2 s"), 20000));
  for (const char* bad : {"interval 0", "interval 2x", "reboot"}) {
    body["command"] = bad;
    answer = command(body);
    REQUIRE(answer["code"] == 0);
    CHECK(json::parse(base64_decode(answer["data"]["cmd_resp"]), nullptr, false)["ok"] == false);
  }
  body.erase("command");
  body["command_base64"] = "AP8=";
  answer = command(body);
  REQUIRE(answer["code"] == 0);
  CHECK(meter->wait_for_line(has("(binary)"), 20000));

  // The cloud kept the three streams, the object one included.
  const json points = cloud.curl("GET", std::string("/local/datastream/points?product_id=") +
                                            kProduct + "&device_name=meter-1");
  std::vector<std::string> streams;
  for (const json& s : points["data"]["datastreams"]) streams.push_back(s["id"]);
  CHECK(streams == std::vector<std::string>{"power", "state", "voltage"});
  CHECK(points["data"]["datastreams"][1]["datapoints"][0]["value"].contains("load"));

  meter->signal(SIGTERM);
  CHECK(meter->wait_for_line(has("disconnected"), 20000));
  CHECK(meter->wait(20000) == 0);

  // --count: it stops by itself once the last points are answered.
  std::string out;
  CHECK(itest::run(
            {ONENET_DATASTREAM_PATH, "--port", std::to_string(cloud.port()), "--product", kProduct,
             "--device", "meter-1", "--key", cloud.device_key(), "--interval", "1", "--count", "2"},
            30000, &out) == 0);
  size_t accepted = 0;
  for (size_t at = out.find(": 200 accepted"); at != std::string::npos;
       at = out.find(": 200 accepted", at + 1))
    ++accepted;
  CHECK(accepted == 2);
  // A key that is not Base64: said at start, exit 2.
  CHECK(itest::run({ONENET_DATASTREAM_PATH, "--product", kProduct, "--device", "meter-1", "--key",
                    "not base64!"},
                   30000, &out) == 2);
  CHECK(out.rfind("onenet-datastream: ", 0) == 0);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-datastream sample: its interval from the image, at login and by delta") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const std::string did = did_of(cloud, kProduct, "meter-1");
  const auto set_desired = [&](const json& interval) {
    const json answer =
        put_image(cloud, did, json{{"state", {{"desired", {{"interval", interval}}}}}}.dump());
    REQUIRE(answer["code_no"] == "000000");
  };
  const auto image = [&] {
    const json answer = cloud.curl(
        "GET", std::string("/local/image?product_id=") + kProduct + "&device_name=meter-1");
    REQUIRE(answer["code"] == 0);
    return answer["data"]["state"];
  };
  set_desired(2);  // left while the meter is away
  auto meter = start_meter(cloud);
  REQUIRE(meter->wait_for_line(has("image: desired interval = 2 s taken (image at login)"), 20000));
  REQUIRE(meter->wait_for_line(has("image: reported interval = 2 s"), 20000));
  CHECK(image()["reported"] == json{{"interval", 2}});

  // Changed while it is online: the delta brings it at once.
  set_desired(3);
  REQUIRE(meter->wait_for_line(has("image: desired interval = 3 s taken (delta)"), 20000));
  REQUIRE(meter->wait_for_line(has("image: reported interval = 3 s"), 20000));
  CHECK(image()["reported"] == json{{"interval", 3}});

  // One it cannot take is refused; the interval in use stays, and so does the difference.
  set_desired(0);
  REQUIRE(meter->wait_for_line(has("image: desired interval 0 refused"), 20000));
  REQUIRE(meter->wait_for_line(has("image: reported interval = 3 s"), 20000));
  const json state = image();
  CHECK(state["desired"] == json{{"interval", 0}});
  CHECK(state["reported"] == json{{"interval", 3}});

  // A command's interval is reported too.
  const json answer = cloud.curl(
      "POST", "/local/datastream/command",
      json{{"product_id", kProduct}, {"device_name", "meter-1"}, {"command", "interval 4"}}.dump());
  REQUIRE(answer["code"] == 0);
  REQUIRE(meter->wait_for_line(has("image: reported interval = 4 s"), 20000));
  CHECK(image()["reported"] == json{{"interval", 4}});
  meter->signal(SIGTERM);
  CHECK(meter->wait(20000) == 0);
  CHECK(cloud.stop());
}

TEST_CASE("device image: reported by the device, desired by the cloud, the delta to the device") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  Device meter(cloud);
  meter.options.device_image = true;
  REQUIRE(meter.start());
  const std::string where = std::string("product_id=") + kProduct + "&device_name=meter-1";

  // No image yet: the device's get is refused with section 3's 167, the cloud has none.
  onenet::model::Reply reply = meter.await([](auto& d, auto done) { return d.get_image(done); });
  CHECK(reply.code == 167);
  CHECK(reply.msg == "device image not exists");
  CHECK(cloud.curl("GET", "/local/image?" + where)["code"] == 10404);

  // The device reports; the image holds it.
  reply = meter.await([](auto& d, auto done) {
    return d.update_image({{"interval", 10}, {"relay", "on"}}, nullptr, done);
  });
  CHECK(reply.code == 200);
  reply = meter.await([](auto& d, auto done) { return d.get_image(done); });
  REQUIRE(reply.code == 200);
  CHECK(reply.data["state"]["reported"] == json{{"interval", 10}, {"relay", "on"}});
  CHECK(reply.data["state"]["desired"] == json::object());
  CHECK(reply.data["version"] == 1);
  CHECK(reply.data["metadata"]["reported"]["interval"]["timestamp"].is_number_integer());

  // The cloud wants another interval: the device is told the difference, and only it.
  const std::string did = did_of(cloud, kProduct, "meter-1");
  json answer = put_image(
      cloud, did, json{{"state", {{"desired", {{"interval", 5}, {"relay", "on"}}}}}}.dump());
  REQUIRE(answer["code_no"] == "000000");
  CHECK(answer["code"] == "onenet_common_success");
  CHECK(answer["data"]["state"]["desired"] == json{{"interval", 5}, {"relay", "on"}});
  REQUIRE(meter.poll_until([&] { return !meter.app.deltas.empty(); }));
  const json delta = meter.app.deltas[0];
  CHECK(delta["state"] == json{{"interval", 5}});
  CHECK(delta["version"] == 2);
  CHECK(delta["metadata"]["interval"]["timestamp"].is_number_integer());

  // The device applies it and reports: nothing differs, so no delta follows. Its get's answer
  // comes after any delta the update would have caused.
  reply = meter.await([](auto& d, auto done) {
    return d.update_image({{"interval", 5}}, nullptr, done);
  });
  CHECK(reply.code == 200);
  reply = meter.await([](auto& d, auto done) { return d.get_image(done); });
  CHECK(reply.data["state"]["reported"] == json{{"interval", 5}, {"relay", "on"}});
  CHECK(reply.data["version"] == 3);
  CHECK(meter.app.deltas.size() == 1);

  // A null takes a key out of the image.
  answer = put_image(cloud, did, json{{"state", {{"desired", {{"interval", nullptr}}}}}}.dump());
  REQUIRE(answer["code_no"] == "000000");
  CHECK(answer["data"]["state"]["desired"] == json{{"relay", "on"}});
  const json image = cloud.curl("GET", "/local/image?" + where);
  REQUIRE(image["code"] == 0);
  CHECK(image["data"]["state"]["reported"] == json{{"interval", 5}, {"relay", "on"}});
  CHECK(image["data"]["version"] == 4);
  CHECK(cloud.stop());
}

TEST_CASE("device image: what section 3 refuses gets its err_code, from a device and over HTTP") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const auto update = [&](const std::string& payload) {
    return cloud.exchange(kProduct, "meter-1", 0, "image/update", "image/update/rejected", payload);
  };
  const auto refusal = [](int code, const char* message) {
    return json{{"err_code", code}, {"err_msg", message}};
  };
  CHECK(update("{broken") == refusal(160, "illegal json"));
  CHECK(update(R"({"reported":{"a":1}})") == refusal(163, "state key not found"));
  CHECK(update(R"([1])") == refusal(163, "state key not found"));
  CHECK(update(R"({"state":{}})") == refusal(164, "desired or reported key not found"));
  CHECK(update(R"({"state":{"reported":5}})") == refusal(165, "invalid parameters"));
  CHECK(update(R"({"state":[1]})") == refusal(165, "invalid parameters"));
  // Nothing was kept: the device still has no image.
  CHECK(cloud.exchange(kProduct, "meter-1", 0, "image/get", "image/get/rejected", "") ==
        refusal(167, "device image not exists"));
  // image/get's payload must be empty (the legacy design document's 0x62).
  CHECK(cloud.exchange(kProduct, "meter-1", 0, "image/get", "image/get/rejected", "{}") ==
        refusal(98, "illegal data"));
  // A OneJSON product has no image (its shadow is its desired values).
  CHECK(cloud.exchange(kOneJsonProduct, "dev1", 1, "image/update", "image/update/rejected",
                       R"({"state":{"reported":{"a":1}}})") == refusal(165, "invalid parameters"));
  // An accepted update is answered on /accepted with the image's version.
  const json accepted =
      cloud.exchange(kProduct, "meter-1", 0, "image/update", "image/update/accepted",
                     R"({"state":{"reported":{"a":1}}})");
  CHECK(accepted["version"] == 1);

  // The image page's limits: keys, nesting, size.
  CHECK(update(R"({"state":{"reported":{"bad-key":1}}})") == refusal(165, "invalid parameters"));
  CHECK(update(R"({"state":{"reported":{"one":{"two":{"three":{"four":{"five":{"x":1}}}}}}}})") ==
        refusal(162, "json depth out of bound"));
  CHECK(update(json{{"state", {{"reported", {{"big", std::string(4100, 'x')}}}}}}.dump()) ==
        refusal(161, "json out of bound"));
  // Nested objects merge key by key, and the delta names only the leaves that differ.
  const json delta =
      cloud.exchange(kProduct, "meter-1", 0, "image/update", "image/update/delta",
                     R"({"state":{"desired":{"lights":{"color":"RED","size":2},"engine":"ON"},
                   "reported":{"lights":{"color":"GREEN","size":2},"engine":"ON"}}})");
  CHECK(delta["state"] == json::parse(R"({"lights":{"color":"RED"}})"));
  CHECK(delta["metadata"]["lights"]["color"]["timestamp"].is_number_integer());
  CHECK(delta["version"] == 2);
  CHECK(cloud.exchange(kProduct, "meter-1", 0, "image/update", "image/update/accepted",
                       R"({"state":{"reported":{"lights":{"color":"RED"}}}})")["version"] == 3);
  const json image = cloud.curl(
      "GET", std::string("/local/image?product_id=") + kProduct + "&device_name=meter-1");
  CHECK(image["data"]["state"]["reported"] ==
        json::parse(R"({"a":1,"lights":{"color":"RED","size":2},"engine":"ON"})"));
  CHECK(image["data"]["metadata"]["reported"]["lights"]["size"]["timestamp"].is_number_integer());

  // Over HTTP (OneNET's legacy PUT): the legacy envelope, and the image errors' own codes.
  const std::string did = did_of(cloud, kProduct, "meter-1");
  const auto put = [&](const std::string& body) {
    const json answer = put_image(cloud, did, body);
    return answer["code_no"].get<std::string>() + " " + answer["code"].get<std::string>();
  };
  CHECK(put("{broken") == "002001 onenet_image_illegalJson");
  CHECK(put(R"({"desired":{"a":1}})") == "000007 onenet_common_invalidParam");
  CHECK(put(R"({"state":{"desired":{"a":1}},"tags":{}})") == "000007 onenet_common_invalidParam");
  CHECK(put(R"({"state":{}})") == "002005 onenet_image_noDesiredOrReportedKey");
  CHECK(put(R"({"state":{"desired":{"a":{"b":{"c":{"d":{"e":[1]}}}}}}})") ==
        "002003 onenet_image_jsonOutOfDepth");
  CHECK(put(json{{"state", {{"desired", {{"big", std::string(4100, 'x')}}}}}}.dump()) ==
        "002002 onenet_image_jsonOutOfBound");
  CHECK(put(R"({"state":{"desired":{"a b":1}}})") == "000007 onenet_common_invalidParam");
  // A OneJSON product's device, an unknown id, and a token that is none.
  CHECK(put_image(cloud, did_of(cloud, kOneJsonProduct, "dev1"),
                  R"({"state":{"desired":{"a":1}}})")["code_no"] == "000007");
  CHECK(put_image(cloud, "999999999", R"({"state":{"desired":{"a":1}}})")["code_no"] == "001001");
  CHECK(cloud.curl("PUT", "/mqtt/v1/devices/" + did + "/image/properties",
                   R"({"state":{"desired":{"a":1}}})", "bad token")["code_no"] == "000002");
  CHECK(cloud.curl("GET", std::string("/local/image?product_id=") + kOneJsonProduct +
                              "&device_name=dev1")["code"] == 10400);
  CHECK(cloud.stop());
}

TEST_CASE("onenet-datastream sample: registers itself with its product's key and keeps its key") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  const std::string product_key = cloud.product_key(kProduct);
  REQUIRE(!product_key.empty());
  itest::TempDir dir;
  const std::string key_file = dir.file("meter-9.key");
  const std::vector<std::string> argv = {ONENET_DATASTREAM_PATH,
                                         "--port",
                                         std::to_string(cloud.port()),
                                         "--product",
                                         kProduct,
                                         "--device",
                                         "meter-9",
                                         "--product-key",
                                         product_key,
                                         "--register-api",
                                         cloud.http(),
                                         "--key-file",
                                         key_file,
                                         "--interval",
                                         "1",
                                         "--count",
                                         "1"};
  std::string out;
  REQUIRE(itest::run(argv, 30000, &out) == 0);
  CHECK(out.find(std::string("registered ") + kProduct + "/meter-9 with the product key") !=
        std::string::npos);
  CHECK(out.find(": 200 accepted") != std::string::npos);  // it logged in and posted
  // The key it kept is the device's, readable by its owner only, and printed nowhere.
  const json detail = cloud.curl(
      "GET", std::string("/device/detail?product_id=") + kProduct + "&device_name=meter-9");
  REQUIRE(detail["code"] == 0);
  const std::string key = detail["data"]["sec_key"];
  std::ifstream in(key_file);
  std::string kept;
  std::getline(in, kept);
  CHECK(kept == key);
  struct stat st {};
  REQUIRE(::stat(key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(out.find(key) == std::string::npos);
  CHECK(out.find(product_key) == std::string::npos);

  // The next start takes the kept key and registers nothing.
  REQUIRE(itest::run(argv, 30000, &out) == 0);
  CHECK(out.find("device key read from " + key_file) != std::string::npos);
  CHECK(out.find("registered") == std::string::npos);
  CHECK(out.find(": 200 accepted") != std::string::npos);

  // A wrong product key: one line, exit 1. Neither key: exit 2. Both: exit 2.
  CHECK(itest::run({ONENET_DATASTREAM_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kProduct, "--device", "meter-10", "--product-key",
                    "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "--register-api", cloud.http()},
                   30000, &out) == 1);
  CHECK(out.rfind("onenet-datastream: registering meter-10: onenet_common_authFailed", 0) == 0);
  CHECK(itest::run({ONENET_DATASTREAM_PATH, "--product", kProduct, "--device", "meter-10"}, 30000,
                   &out) == 2);
  CHECK(out == "onenet-datastream: --key or --product-key is required (see --help)\n");
  CHECK(itest::run({ONENET_DATASTREAM_PATH, "--product", kProduct, "--device", "meter-10", "--key",
                    product_key, "--product-key", product_key},
                   30000, &out) == 2);
  CHECK(cloud.stop());
}
