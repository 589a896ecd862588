// OTA through onenet-local: fuse-ota over HTTP with provision::ApiClient (report, check,
// download with resume and MD5, steps) and with the MCU's ota::FuseOtaClient over TCP, and the
// ota/inform notice over MQTT to model::Device.
#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <sstream>

#include "flash_slot.hpp"
#include "live_device.hpp"
#include "onenet/auth/encoding.hpp"
#include "onenet/model/device.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#if defined(ONENET_HAVE_MBEDTLS_TLS)
#include "onenet/platform/mbedtls_transport.hpp"
#endif
#include "onenet/provision/api_client.hpp"
#include "onenet_local.hpp"

using itest::FlashSlot;
using itest::OnenetLocal;
using itest::Process;
using itest::TempDir;
using nlohmann::json;
using onenet::Status;
using onenet::provision::ApiClient;
using onenet::provision::OtaKind;
using onenet::provision::OtaTask;

namespace {

constexpr const char* kProduct = "OtaProd001";

std::vector<std::string> cloud_args() {
  return {"--seed-device", std::string(kProduct) + "/meter-1", "--seed-device",
          std::string(kProduct) + "/meter-2"};
}

// A device's own client for fuse-ota: its token (products/{pid}/devices/{name}, 2018-10-31).
std::unique_ptr<ApiClient> device_api(const OnenetLocal& cloud, const std::string& name,
                                      size_t key_index) {
  onenet::provision::ApiOptions o;
  o.api_url = cloud.http();
  o.resource = "products/" + std::string(kProduct) + "/devices/" + name;
  o.access_key = cloud.device_key(key_index);
  o.token_version = "2018-10-31";
  o.method = onenet::auth::Method::kSha1;
  o.hmac = onenet::platform::default_hmac();
  o.max_attempts = 2;
  o.backoff_ms = 10;
  auto api = ApiClient::create(std::move(o));
  REQUIRE(api.ok());
  return std::move(api.value());
}

// Bytes that are not all alike, so a misplaced range shows.
std::string make_package(size_t size) {
  std::string bytes(size, '\0');
  uint32_t x = 2463534242u;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return bytes;
}

std::string base64(const std::string& bytes) {
  std::string out(onenet::auth::base64_encoded_length(bytes.size()), '\0');
  const auto n = onenet::auth::base64_encode(
      onenet::ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), out.data(),
      out.size());
  REQUIRE(n.ok());
  out.resize(n.value());
  return out;
}

json task_body(const std::string& device, int type, const std::string& target,
               const std::string& package) {
  return {{"product_id", kProduct},
          {"device_name", device},
          {"type", type},
          {"target", target},
          {"package", base64(package)}};
}

using itest::read_file;
using itest::write_file;

// POST /local/ota/task with the body in a file: a package's Base64 is too long for one argument.
json make_task(const OnenetLocal& cloud, const json& body) {
  TempDir dir;
  write_file(dir.file("task.json"), body.dump());
  std::string output;
  REQUIRE(itest::run(
              {"curl", "-s", "-S", "--max-time", "20", "-X", "POST",
               cloud.http() + "/local/ota/task", "-H", "authorization: " + cloud.user_token(), "-H",
               "Content-Type: application/json", "--data-binary", "@" + dir.file("task.json")},
              30000, &output) == 0);
  return json::parse(output, nullptr, false);
}

bool has_event(const OnenetLocal& cloud, const std::function<bool(const json&)>& match) {
  for (const json& e : cloud.events()) {
    if (match(e)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("OTA over HTTP: a device reports, finds its task, downloads, installs and reports") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  auto api = device_api(cloud, "meter-1", 0);
  REQUIRE(api->ota_report_version(kProduct, "meter-1", "FW-1.0", "V1.0") == Status::kOk);

  OtaTask task;
  CHECK(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) ==
        Status::kProvisionNoOtaTask);
  CHECK(api->last_error().code == 12012);

  const std::string package = make_package(300 * 1024 + 17);
  const json created = make_task(cloud, task_body("meter-1", 2, "V2.0", package));
  REQUIRE(created["code"] == 0);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());

  // A firmware check finds nothing: the task is for the application (type 2).
  CHECK(api->ota_check(kProduct, "meter-1", OtaKind::kFirmware, "FW-1.0", &task) ==
        Status::kProvisionNoOtaTask);
  REQUIRE(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) == Status::kOk);
  CHECK(task.tid == tid);
  CHECK(task.target == "V2.0");
  CHECK(task.size == package.size());
  CHECK(task.md5 == created["data"]["md5"].get<std::string>());
  CHECK(task.status == 1);
  CHECK(api->ota_task_active(kProduct, "meter-1", tid) == Status::kOk);

  TempDir dir;
  const std::string path = dir.path() + "/package.bin";
  uint64_t last_progress = 0;
  REQUIRE(api->ota_download(kProduct, "meter-1", task, path, [&](uint64_t held, uint64_t total) {
    CHECK(total == package.size());
    CHECK(held > last_progress);
    last_progress = held;
  }) == Status::kOk);
  CHECK(read_file(path) == package);
  CHECK(last_progress == package.size());

  // Downloading: the task says so now.
  REQUIRE(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) == Status::kOk);
  CHECK(task.status == 2);
  REQUIRE(api->ota_report_step(kProduct, "meter-1", tid, 101) == Status::kOk);
  REQUIRE(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) == Status::kOk);
  CHECK(task.status == 3);
  REQUIRE(api->ota_report_step(kProduct, "meter-1", tid, 201) == Status::kOk);
  CHECK(has_event(cloud, [&](const json& e) {
    return e.value("event", "") == "ota_step" && e.value("tid", "") == tid &&
           e.value("step", 0) == 201;
  }));

  // Installed: the task is over, and a device already on the target has nothing to do.
  CHECK(api->ota_task_active(kProduct, "meter-1", tid) == Status::kProvisionNoOtaTask);
  CHECK(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) ==
        Status::kProvisionNoOtaTask);
  CHECK(api->ota_report_step(kProduct, "meter-1", tid, 100) == Status::kProvisionNoOtaTask);
  CHECK(cloud.stop());
}

TEST_CASE("OTA download: resumed from a partial file with a Range, checked by MD5") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  auto api = device_api(cloud, "meter-1", 0);
  const std::string package = make_package(64 * 1024 + 3);
  REQUIRE(make_task(cloud, task_body("meter-1", 1, "FW-2.0", package))["code"] == 0);
  OtaTask task;
  REQUIRE(api->ota_check(kProduct, "meter-1", OtaKind::kFirmware, "FW-1.0", &task) == Status::kOk);
  TempDir dir;
  const std::string path = dir.path() + "/firmware.bin";

  SUBCASE("the first bytes of the package: the download completes them") {
    write_file(path, package.substr(0, 1000));
    REQUIRE(api->ota_download(kProduct, "meter-1", task, path) == Status::kOk);
    CHECK(read_file(path) == package);
  }
  SUBCASE("wrong first bytes (another package's): the joined file fails the MD5, fetched again") {
    write_file(path, std::string(1000, 'x'));
    const uint64_t before = api->attempts();
    REQUIRE(api->ota_download(kProduct, "meter-1", task, path) == Status::kOk);
    CHECK(read_file(path) == package);
    CHECK(api->attempts() == before + 2);  // the rest (Range), then the whole
  }
  SUBCASE("a file longer than the package is not a part of it: started again") {
    write_file(path, std::string(package.size() + 10, 'y'));
    REQUIRE(api->ota_download(kProduct, "meter-1", task, path) == Status::kOk);
    CHECK(read_file(path) == package);
  }
  SUBCASE("a whole file is only checked; a wrong one of the right size is replaced") {
    write_file(path, package);
    const uint64_t before = api->attempts();
    REQUIRE(api->ota_download(kProduct, "meter-1", task, path) == Status::kOk);
    CHECK(api->attempts() == before);  // no request
    std::string damaged = package;
    damaged[100] = static_cast<char>(damaged[100] ^ 1);
    write_file(path, damaged);
    REQUIRE(api->ota_download(kProduct, "meter-1", task, path) == Status::kOk);
    CHECK(read_file(path) == package);
    CHECK(api->attempts() == before + 1);
  }
  CHECK(cloud.stop());
}

TEST_CASE("OTA refusals: bad versions and steps, unknown tasks, another device's task") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  auto api = device_api(cloud, "meter-1", 0);
  TempDir dir;

  // Refused before anything is sent (fuse-ota: 1-20 of [A-Za-z0-9_.-]).
  const uint64_t before = api->attempts();
  CHECK(api->ota_report_version(kProduct, "meter-1", "", "") == Status::kInvalidArgument);
  CHECK(api->ota_report_version(kProduct, "meter-1", "v 1", "") == Status::kInvalidArgument);
  CHECK(api->last_error().message.find("f_version") != std::string::npos);
  CHECK(api->ota_report_version(kProduct, "meter-1", "", std::string(21, '1')) ==
        Status::kInvalidArgument);
  OtaTask task;
  CHECK(api->ota_check(kProduct, "meter-1", OtaKind::kSoftware, "", &task) ==
        Status::kInvalidArgument);
  CHECK(api->ota_report_step(kProduct, "meter-1", "1", 150) == Status::kInvalidArgument);
  CHECK(api->ota_report_step(kProduct, "meter-1", "1", -1) == Status::kInvalidArgument);
  CHECK(api->ota_download(kProduct, "meter-1", OtaTask{}, dir.path() + "/x") ==
        Status::kInvalidArgument);
  CHECK(api->attempts() == before);

  // The server refuses the same when a client skips the checks.
  const std::string token = cloud.device_token(kProduct, "meter-1");
  const std::string base = "/fuse-ota/" + std::string(kProduct) + "/meter-1";
  CHECK(cloud.curl("POST", base + "/version", R"({"s_version":"a b"})", token)["code"] == 10400);
  CHECK(cloud.curl("POST", base + "/version", R"({"s_version":7})", token)["code"] == 10400);
  CHECK(cloud.curl("GET", base + "/check?type=3&version=1", {}, token)["code"] == 10400);

  // Tasks: another device's is not this device's; a wrong package or type is refused.
  const std::string package = make_package(4096);
  CHECK(make_task(cloud, task_body("meter-1", 3, "V2", package))["code"] == 10400);
  // A package above onenet-local's 8 MiB (its request, in Base64, is still within 12 MiB).
  CHECK(make_task(cloud, task_body("meter-1", 2, "V2", make_package(8 * 1024 * 1024 + 1)))["msg"] ==
        "package: at most 8 MiB");
  json bad = task_body("meter-1", 2, "V2", package);
  bad["package"] = "not base64!";
  CHECK(make_task(cloud, bad)["code"] == 10400);
  CHECK(make_task(cloud, task_body("nobody", 2, "V2", package))["code"] == 10404);
  const json created = make_task(cloud, task_body("meter-2", 2, "V2", package));
  REQUIRE(created["code"] == 0);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());
  CHECK(api->ota_task_active(kProduct, "meter-1", tid) == Status::kProvisionNoOtaTask);
  CHECK(api->ota_report_step(kProduct, "meter-1", tid, 101) == Status::kProvisionNoOtaTask);
  OtaTask theirs;
  theirs.tid = tid;
  theirs.size = package.size();
  theirs.md5 = created["data"]["md5"].get<std::string>();
  CHECK(api->ota_download(kProduct, "meter-1", theirs, dir.path() + "/theirs.bin") ==
        Status::kProvisionNoOtaTask);
  // A device does not make its own tasks (a user or product token does).
  const std::string task_text = task_body("meter-1", 2, "V9", package).dump();
  CHECK(cloud.curl("POST", "/local/ota/task", task_text, token)["code"] == 10403);
  // meter-1's token does not open meter-2's path.
  CHECK(api->ota_task_active(kProduct, "meter-2", tid) == Status::kProvisionBadCredentials);
  // meter-2 has it.
  auto other = device_api(cloud, "meter-2", 1);
  CHECK(other->ota_task_active(kProduct, "meter-2", tid) == Status::kOk);
  // A new task for the same device and kind replaces the old one.
  const json replacing = make_task(cloud, task_body("meter-2", 2, "V3", package));
  REQUIRE(replacing["code"] == 0);
  CHECK(other->ota_task_active(kProduct, "meter-2", tid) == Status::kProvisionNoOtaTask);
  REQUIRE(other->ota_check(kProduct, "meter-2", OtaKind::kSoftware, "V1", &task) == Status::kOk);
  CHECK(task.target == "V3");
  CHECK(cloud.stop());
}

namespace {

struct OtaApp : onenet::model::CommandHandler {
  onenet::model::Reply on_ota_inform(const json& params) override {
    informs.push_back(params);
    return {200, "will check", {}};
  }
  std::vector<json> informs;
};

}  // namespace

TEST_CASE("ota/inform: a device that asks for it hears a new task and answers") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  itest::LiveDevice<OtaApp> thing(cloud.port(), kProduct, "meter-1", cloud.device_key(0));
  thing.options.ota_inform = true;
  REQUIRE(thing.start());
  // A reply on thing/# shows the SUBSCRIBE was taken, and ota/inform went in the same packet:
  // the cloud does not keep QoS 0 notices for a device not yet subscribed.
  bool replied = false;
  REQUIRE(thing.device
              .post_properties({{"temperature", 20}},
                               [&](Status, const onenet::model::Reply&) { replied = true; })
              .ok());
  REQUIRE(thing.poll_until([&] { return replied; }));

  const std::string package = make_package(2048);
  // Made while the device polls: the cloud answers once the notice is out.
  auto curl = Process::start(
      {"curl", "-s", "-S", "--max-time", "20", "-X", "POST", cloud.http() + "/local/ota/task", "-H",
       "authorization: " + cloud.user_token(), "-H", "Content-Type: application/json",
       "--data-binary", task_body("meter-1", 2, "V2.0", package).dump()});
  REQUIRE(curl);
  REQUIRE(thing.poll_until([&] { return !thing.app.informs.empty() && !curl->running(); }));
  curl->wait(1000);
  const json created = json::parse(curl->remaining(), nullptr, false);
  REQUIRE(created["code"] == 0);
  CHECK(thing.app.informs.size() == 1);
  CHECK(thing.app.informs[0]["tid"] == created["data"]["tid"]);
  CHECK(thing.app.informs[0]["target"] == "V2.0");

  // The answer reaches the cloud with the notice's id.
  json inform_id;
  REQUIRE(thing.poll_until([&] {
    for (const json& e : cloud.events()) {
      if (e.value("event", "") == "ota_inform") inform_id = e["payload"]["id"];
    }
    return has_event(cloud, [&](const json& e) {
      return e.value("event", "") == "ota_inform_reply" && e["payload"]["id"] == inform_id &&
             e["payload"]["code"] == 200 && e["payload"]["msg"] == "will check";
    });
  }));
  CHECK(thing.device.state() == onenet::client::State::kConnected);
  (void)thing.device.disconnect();
  CHECK(cloud.stop());
}

TEST_CASE("onenet-cli ota: a device's version, check, download and steps, with its own key") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  TempDir dir;
  // The device's credentials, as a device-side script holds them.
  auto cli = [&](std::vector<std::string> args, std::string* output = nullptr) {
    std::vector<std::string> argv = {"env", "ONENET_API=" + cloud.http(),
                                     "ONENET_ACCESS_KEY=" + cloud.device_key(0), ONENET_CLI_PATH,
                                     "ota"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* flag : {"--auth", "device", "--product", kProduct, "--name", "meter-1"})
      argv.push_back(flag);
    std::string ignored;
    return itest::run(argv, 60000, output ? output : &ignored);
  };
  CHECK(cli({"version", "--firmware", "FW-1", "--software", "V1"}) == 0);
  CHECK(cli({"version", "--software", "V 1"}) == 2);
  std::string output;
  CHECK(cli({"check", "--version", "V1"}, &output) == 1);
  CHECK(output.find("no OTA task") != std::string::npos);

  const std::string package = make_package(10000);
  const json created = make_task(cloud, task_body("meter-1", 2, "V2", package));
  REQUIRE(created["code"] == 0);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());
  REQUIRE(cli({"check", "--version", "V1", "--json"}, &output) == 0);
  const json task = json::parse(output.substr(0, output.find('\n')), nullptr, false);
  CHECK(task["tid"] == tid);
  CHECK(task["target"] == "V2");
  CHECK(task["md5"] == created["data"]["md5"]);
  // The firmware has no task.
  CHECK(cli({"check", "--kind", "firmware", "--version", "FW-1"}) == 1);

  REQUIRE(cli({"download", "--version", "V1", "--out", dir.file("p.bin"), "--report"}, &output) ==
          0);
  CHECK(read_file(dir.file("p.bin")) == package);
  // --report: the progress and 101 reached the cloud.
  for (const int step : {100, 101}) {
    CHECK(has_event(cloud, [&](const json& e) {
      return e.value("event", "") == "ota_step" && e.value("tid", "") == tid &&
             e.value("step", -1) == step;
    }));
  }
  CHECK(cli({"step", "--tid", tid, "--step", "101"}) == 0);
  CHECK(cli({"step", "--tid", tid, "--step", "300"}) == 2);
  CHECK(cli({"step", "--tid", tid, "--step", "201"}) == 0);
  CHECK(has_event(cloud, [&](const json& e) {
    return e.value("event", "") == "ota_step" && e.value("step", 0) == 201;
  }));
  CHECK(cli({"step", "--tid", tid, "--step", "201"}, &output) == 1);  // the task is over

  // --report of a package that fails its MD5 (onenet-local announces another): exit 1, the file
  // deleted, and step 205 in the cloud.
  json damaged = task_body("meter-1", 2, "V3", make_package(3000));
  damaged["md5"] = std::string(32, 'c');
  const json second = make_task(cloud, damaged);
  REQUIRE(second["code"] == 0);
  const std::string second_tid = std::to_string(second["data"]["tid"].get<int64_t>());
  CHECK(cli({"download", "--version", "V2", "--out", dir.file("v3.bin"), "--report"}, &output) ==
        1);
  CHECK(output.find("does not match the task's MD5") != std::string::npos);
  CHECK_FALSE(std::ifstream(dir.file("v3.bin")).good());
  CHECK(has_event(cloud, [&](const json& e) {
    return e.value("event", "") == "ota_step" && e.value("tid", "") == second_tid &&
           e.value("step", 0) == 205;
  }));
  CHECK(cloud.stop());
}

TEST_CASE("onenet-telemetry --ota-api: hears the notice, downloads, reports the steps") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  TempDir dir;
  auto device = Process::start({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()),
                                "--product", kProduct, "--device", "meter-1", "--key",
                                cloud.device_key(0), "--interval", "60", "--ota-api", cloud.http(),
                                "--ota-dir", dir.path(), "--software-version", "1.0"});
  REQUIRE(device);
  auto has = [](const std::string& text) {
    return [text](const std::string& line) { return line.find(text) != std::string::npos; };
  };
  // At start it reports its version and finds nothing; its first report shows it subscribed.
  REQUIRE(device->wait_for_line(has("OTA: no task for 1.0"), 20000));
  REQUIRE(device->wait_for_line(has("reply 200"), 20000));

  const std::string package = make_package(50000);
  const json created = make_task(cloud, task_body("meter-1", 2, "2.0", package));
  REQUIRE(created["code"] == 0);
  REQUIRE(device->wait_for_line(has("OTA notice"), 20000));
  REQUIRE(device->wait_for_line(has("OTA: downloaded"), 20000));
  REQUIRE(device->wait_for_line(has("installed (simulated), now running 2.0"), 20000));
  CHECK(read_file(dir.file("meter-1-2.0.bin")) == package);
  const std::string tid = std::to_string(created["data"]["tid"].get<int64_t>());
  // The task's steps in the order the cloud took them: download progress at quarters (0-100,
  // rising, ending at 100), then 101 and 201.
  std::vector<int> steps;
  for (const json& e : cloud.events()) {
    if (e.value("event", "") == "ota_step" && e.value("tid", "") == tid)
      steps.push_back(e.value("step", -1));
  }
  CAPTURE(json(steps).dump());
  REQUIRE(steps.size() >= 3);
  CHECK(std::vector<int>(steps.end() - 2, steps.end()) == std::vector<int>{101, 201});
  const std::vector<int> progress(steps.begin(), steps.end() - 2);
  CHECK(progress.back() == 100);
  for (size_t i = 0; i < progress.size(); ++i) {
    CHECK(progress[i] % 25 == 0);
    if (i > 0) CHECK(progress[i] > progress[i - 1]);
  }
  CHECK(device->transcript().find("OTA: 100% downloaded") != std::string::npos);

  // A package that fails its MD5 (onenet-local announces another): not installed, step 205.
  json damaged = task_body("meter-1", 2, "3.0", make_package(20000));
  damaged["md5"] = std::string(32, 'b');
  const json second = make_task(cloud, damaged);
  REQUIRE(second["code"] == 0);
  REQUIRE(device->wait_for_line(has("OTA download failed"), 20000));
  // The step goes out right after that line, on the same thread: once the device has stopped,
  // it is in the cloud's log.
  device->signal(SIGTERM);
  CHECK(device->wait(20000) == 0);
  const std::string second_tid = std::to_string(second["data"]["tid"].get<int64_t>());
  CHECK(has_event(cloud, [&](const json& e) {
    return e.value("event", "") == "ota_step" && e.value("tid", "") == second_tid &&
           e.value("step", 0) == 205;
  }));
  CHECK_FALSE(std::ifstream(dir.file("meter-1-3.0.bin")).good());  // deleted, not installed

  // An OTA API that is not there: said, and the device goes on reporting.
  std::string out;
  CHECK(itest::run({ONENET_TELEMETRY_PATH, "--port", std::to_string(cloud.port()), "--product",
                    kProduct, "--device", "meter-1", "--key", cloud.device_key(0), "--ota-api",
                    "http://127.0.0.1:" + std::to_string(itest::free_port()), "--count", "1"},
                   60000, &out) == 0);
  CHECK(out.find("OTA version report failed") != std::string::npos);
  CHECK(out.find("OTA check failed") != std::string::npos);
  CHECK(out.find("reply 200") != std::string::npos);

  // A version OneNET would refuse: one line, exit 2.
  CHECK(itest::run({ONENET_TELEMETRY_PATH, "--product", kProduct, "--device", "meter-1", "--key",
                    cloud.device_key(0), "--ota-api", cloud.http(), "--software-version", "1 0"},
                   30000, &out) == 2);
  CHECK(out.find("--software-version") != std::string::npos);
  CHECK(cloud.stop());
}

namespace {

// fuse-ota as an MCU holds it: a FuseOtaClient over TCP to onenet-local's HTTP API.
struct McuOta {
  explicit McuOta(const OnenetLocal& cloud) : tcp("127.0.0.1", cloud.http_port()) {}
  onenet::platform::TcpTransport tcp;
  onenet::platform::SystemClock clock;
  uint8_t buffer[1024] = {};
  onenet::ota::FuseOtaClient ota{tcp, clock, onenet::MutableByteView(buffer, sizeof buffer)};
};

}  // namespace

TEST_CASE("FuseOtaClient (the MCU's fuse-ota) over TCP: report, check, download, steps") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  McuOta link(cloud);
  onenet::ota::FuseOtaClient& ota = link.ota;
  const std::string token = cloud.device_token(kProduct, "meter-1");
  const onenet::ota::Caller device{kProduct, "meter-1", token};

  REQUIRE(ota.report_version(device, "FW-1.0", "") == Status::kOk);
  onenet::ota::Task task;
  CHECK(ota.check(device, onenet::ota::Kind::kFirmware, "FW-1.0", &task) ==
        Status::kProvisionNoOtaTask);
  CHECK(ota.last_code() == 12012);

  const std::string package = make_package(200 * 1024 + 5);
  const json created = make_task(cloud, task_body("meter-1", 1, "FW-2.0", package));
  REQUIRE(created["code"] == 0);
  REQUIRE(ota.check(device, onenet::ota::Kind::kFirmware, "FW-1.0", &task) == Status::kOk);
  CHECK(task.tid == created["data"]["tid"].get<uint64_t>());
  CHECK(std::string(task.target) == "FW-2.0");
  CHECK(task.size == package.size());
  CHECK(std::string(task.md5) == created["data"]["md5"].get<std::string>());
  CHECK(task.status == 1);
  CHECK(ota.task_active(device, task.tid) == Status::kOk);

  // The power goes after 70 KB: the count and MD5 saved with the flash resume it after the
  // restart, with a new client, from where it stopped (a Range).
  FlashSlot flash;
  flash.cut_after = 70 * 1024;
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  CHECK(ota.download(device, task, &received, &digest, FlashSlot::write, &flash) ==
        Status::kTransportIoError);
  REQUIRE(received == flash.bytes.size());
  REQUIRE(received >= 70 * 1024);
  REQUIRE(received < package.size());
  const uint32_t saved_received = received;
  const onenet::ota::Md5 saved_digest = digest;

  McuOta restarted(cloud);
  onenet::ota::FuseOtaClient& after_restart = restarted.ota;
  received = saved_received;
  digest = saved_digest;
  flash.cut_after = SIZE_MAX;  // powered again
  REQUIRE(after_restart.download(device, task, &received, &digest, FlashSlot::write, &flash) ==
          Status::kOk);
  CHECK(received == package.size());
  CHECK(flash.in_order);
  CHECK(flash.bytes == package);

  REQUIRE(after_restart.report_step(device, task.tid, 101) == Status::kOk);
  REQUIRE(after_restart.check(device, onenet::ota::Kind::kFirmware, "FW-1.0", &task) ==
          Status::kOk);
  CHECK(task.status == 3);
  REQUIRE(after_restart.report_step(device, task.tid, 201) == Status::kOk);
  CHECK(has_event(cloud, [&](const json& e) {
    return e.value("event", "") == "ota_step" && e.value("tid", "") == std::to_string(task.tid) &&
           e.value("step", 0) == 201;
  }));
  CHECK(after_restart.task_active(device, task.tid) == Status::kProvisionNoOtaTask);
  CHECK(after_restart.report_version(device, "FW-2.0", "") == Status::kOk);
  CHECK(after_restart.check(device, onenet::ota::Kind::kFirmware, "FW-2.0", &task) ==
        Status::kProvisionNoOtaTask);
  CHECK(cloud.stop());
}

TEST_CASE("FuseOtaClient over TCP: a wrong token, another device's task, a dead port") {
  OnenetLocal cloud(cloud_args());
  REQUIRE(cloud.start());
  McuOta link(cloud);
  onenet::ota::FuseOtaClient& ota = link.ota;
  REQUIRE(make_task(cloud, task_body("meter-1", 2, "V2.0", make_package(1000)))["code"] == 0);

  // meter-2's key on meter-1's token.
  const std::string wrong_key = cloud.device_token(kProduct, "meter-1", 1);
  onenet::ota::Task task;
  CHECK(ota.check({kProduct, "meter-1", wrong_key}, onenet::ota::Kind::kSoftware, "V1.0", &task) ==
        Status::kProvisionBadCredentials);
  CHECK(ota.last_code() == 10403);
  CHECK(std::string(ota.last_message()).find("authentication failed") == 0);

  // meter-2 with its own token asks for meter-1's task by its id.
  const std::string meter1 = cloud.device_token(kProduct, "meter-1");
  REQUIRE(ota.check({kProduct, "meter-1", meter1}, onenet::ota::Kind::kSoftware, "V1.0", &task) ==
          Status::kOk);
  const std::string meter2 = cloud.device_token(kProduct, "meter-2", 1);
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  FlashSlot flash;
  CHECK(ota.download({kProduct, "meter-2", meter2}, task, &received, &digest, FlashSlot::write,
                     &flash) == Status::kProvisionNoOtaTask);
  CHECK(flash.bytes.empty());

  // The API gone: each attempt is refused, and the call ends.
  CHECK(cloud.stop());
  CHECK(ota.task_active({kProduct, "meter-1", meter1}, task.tid) ==
        Status::kProvisionNetworkFailed);
  CHECK(std::string(ota.last_message()) == "cannot connect");
}

namespace {

// Checks for the task and downloads it through `transport`, as a device does: true when the
// package arrived whole with its MD5.
bool fetch_over(onenet::port::Transport& transport, const onenet::ota::Caller& device,
                const std::string& package) {
  onenet::platform::SystemClock clock;
  uint8_t buffer[1024];
  onenet::ota::FuseOtaClient ota(transport, clock, onenet::MutableByteView(buffer, sizeof buffer));
  onenet::ota::Task task;
  const Status checked = ota.check(device, onenet::ota::Kind::kSoftware, "V1.0", &task);
  INFO(ota.last_message());
  REQUIRE(checked == Status::kOk);
  FlashSlot flash;
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  const Status s = ota.download(device, task, &received, &digest, FlashSlot::write, &flash);
  INFO(ota.last_message());
  CHECK(s == Status::kOk);
  return s == Status::kOk && flash.in_order && flash.bytes == package;
}

}  // namespace

TEST_CASE(
    "fuse-ota over HTTPS (--https-port): ApiClient, and FuseOtaClient over OpenSSL and mbedTLS") {
  std::vector<std::string> args = cloud_args();
  args.insert(args.end(), {"--https-port", "0"});
  OnenetLocal cloud(args);
  REQUIRE(cloud.start());
  const std::string https = cloud.https();
  const std::string ca_file = cloud.ca_file();
  REQUIRE(https.rfind("https://127.0.0.1:", 0) == 0);
  const uint16_t port = cloud.https_port();

  // libcurl, verifying the server against onenet-local's CA.
  onenet::provision::ApiOptions o;
  o.api_url = https;
  o.ca_file = ca_file;
  o.resource = "products/" + std::string(kProduct) + "/devices/meter-1";
  o.access_key = cloud.device_key(0);
  o.token_version = "2018-10-31";
  o.hmac = onenet::platform::default_hmac();
  auto created = ApiClient::create(std::move(o));
  REQUIRE(created.ok());
  ApiClient& api = *created.value();
  REQUIRE(api.ota_report_version(kProduct, "meter-1", "", "V1.0") == Status::kOk);
  const std::string package = make_package(150 * 1024 + 9);
  REQUIRE(make_task(cloud, task_body("meter-1", 2, "V2.0", package))["code"] == 0);
  OtaTask task;
  REQUIRE(api.ota_check(kProduct, "meter-1", OtaKind::kSoftware, "V1.0", &task) == Status::kOk);
  TempDir dir;
  REQUIRE(api.ota_download(kProduct, "meter-1", task, dir.file("package.bin")) == Status::kOk);
  CHECK(read_file(dir.file("package.bin")) == package);

  // An MCU's way: FuseOtaClient through a TLS layer over TCP, by OpenSSL and by mbedTLS.
  const std::string token = cloud.device_token(kProduct, "meter-1");
  const onenet::ota::Caller device{kProduct, "meter-1", token};
  onenet::platform::TlsOptions tls;
  tls.ca_file = ca_file;
  tls.server_name = "localhost";  // in the certificate; mbedTLS 2.28 matches names, not IPs
  onenet::platform::TlsTransport openssl_link("127.0.0.1", port, tls);
  CHECK(fetch_over(openssl_link, device, package));
#if defined(ONENET_HAVE_MBEDTLS_TLS)
  const std::string ca_pem = read_file(ca_file);
  onenet::platform::SystemClock clock;
  onenet::platform::TcpTransport tcp("127.0.0.1", port);
  onenet::platform::MbedTlsOptions mbed;
  mbed.ca_pem = ca_pem.c_str();
  mbed.server_name = "localhost";
  mbed.random = onenet::platform::system_random;
  mbed.clock = &clock;
  onenet::platform::MbedTlsTransport mbedtls_link(tcp, mbed);
  CHECK(fetch_over(mbedtls_link, device, package));
#endif
  // The plain API is still there beside it.
  McuOta plain(cloud);
  CHECK(fetch_over(plain.tcp, device, package));
  CHECK(cloud.stop());
}
