// onenet-telemetry: a OneNET device that reports temperature and humidity every --interval
// seconds, raises an "overheat" event above --threshold, accepts a property set of "interval"
// (and, at each login, a desired value of it left by an application) and a "reboot" service
// call, logs what happens, and leaves cleanly (DISCONNECT) on SIGINT or SIGTERM. With --ota-api
// it also takes OTA updates: it reports --software-version, hears ota/inform, downloads the
// package into --ota-dir (MD5 checked) and reports the steps (its progress by quarters, then
// 101 and 201); the install itself is simulated (it only changes the version it reports). The
// defaults target onenet-local on 127.0.0.1:1883; real OneNET is a matter of flags:
//   --host mqttstls.heclouds.com --port 8883 --tls --cafile platform/certs/onenet-mqtts-ca.pem

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <memory>

#include "decimal_option.hpp"
#include "link_options.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet/provision/api_client.hpp"
#include "sample_support.hpp"
#include "thing_model_file.hpp"

namespace {

using onenet_sample::log;
using onenet_sample::stop_requested;

// The device's behaviour: what it answers when the cloud asks.
class Telemetry : public onenet::model::CommandHandler {
 public:
  int interval_s = 5;
  double temperature = 25.0;
  double humidity = 50.0;
  bool ota_announced = false;  // ota/inform came: check for the task at the next turn
  bool desired_due = false;    // logged in: read the desired values at the next turn

  // Checked against the thing model when one is loaded (--tsl); checked here either way.
  static bool valid_interval(int64_t seconds) { return seconds >= 1 && seconds <= 3600; }

  onenet::model::Reply on_property_set(const nlohmann::json& params) override {
    if (params.contains("interval")) {
      const int64_t seconds = onenet::model::integer_member(params, "interval", 0);
      if (!valid_interval(seconds)) return {400, "interval: 1..3600 seconds", {}};
      interval_s = static_cast<int>(seconds);
      log("property set: interval = %d s", interval_s);
    }
    return {200, "success", {}};
  }
  onenet::model::Reply on_property_get(const std::vector<std::string>& ids) override {
    nlohmann::json data = nlohmann::json::object();
    for (const std::string& id : ids) {
      if (id == "temperature") data[id] = temperature;
      if (id == "humidity") data[id] = humidity;
      if (id == "interval") data[id] = interval_s;
    }
    log("property get: %s", data.dump().c_str());
    return {200, "success", data};
  }
  onenet::model::Reply on_service(const std::string& id, const nlohmann::json& input) override {
    if (id != "reboot") return {100, "no such service", {}};
    const int delay = onenet::model::integer_member(input, "delay", 0);
    log("service reboot called (delay %d s)", delay);
    return {200, "success", {{"result", "rebooting in " + std::to_string(delay) + " s"}}};
  }
  onenet::model::Reply on_ota_inform(const nlohmann::json& params) override {
    // Answered at once (OneNET waits 20 s at most); the download runs in the main loop.
    log("OTA notice: %s", params.dump().c_str());
    ota_announced = true;
    return {200, "success", {}};
  }
  void on_connection(onenet::client::State state, onenet::Status reason) override {
    if (state == onenet::client::State::kConnected) {
      desired_due = true;  // set while the device was away, or since its last login
      if (reason == onenet::Status::kOk) {
        log("connected");
      } else {
        log("connected, but %s", onenet::to_string(reason));  // e.g. the subscription refused
      }
    }
    if (state == onenet::client::State::kBackoff) {
      log("link down (%s)%s", onenet::to_string(reason), stop_requested ? "" : "; reconnecting");
    }
  }
};

// Checks for a software task from `*version` and carries it out: download into `dir` (the
// progress reported at each quarter through `progress_api`: 0-100 are download percentages,
// section 5.5), report 101, "install" (the version changes), report 201 and the new version.
// Blocks while it downloads: a sample's packages are small, and keep-alive allows minutes.
void update_software(onenet::provision::ApiClient& api, onenet::provision::ApiClient& progress_api,
                     const std::string& product, const std::string& device, const std::string& dir,
                     std::string* version) {
  onenet::provision::OtaTask task;
  const onenet::Status checked =
      api.ota_check(product, device, onenet::provision::OtaKind::kSoftware, *version, &task);
  if (checked == onenet::Status::kProvisionNoOtaTask) {
    log("OTA: no task for %s", version->c_str());
    return;
  }
  if (checked != onenet::Status::kOk) {
    log("OTA check failed: %s", api.last_error().message.c_str());
    return;
  }
  const std::string path = dir + "/" + device + "-" + task.target + ".bin";
  log("OTA: task %s, %s -> %s, %llu bytes", task.tid.c_str(), version->c_str(), task.target.c_str(),
      static_cast<unsigned long long>(task.size));
  // `api` is busy downloading: the steps go through a client of their own.
  int last_step = -1;
  const auto progress = [&](uint64_t received, uint64_t total) {
    const int step = total == 0 ? 0 : static_cast<int>(received * 100 / total) / 25 * 25;
    if (step <= last_step) return;
    last_step = step;
    if (progress_api.ota_report_step(product, device, task.tid, step) == onenet::Status::kOk) {
      log("OTA: %d%% downloaded", step);
    } else {
      log("OTA progress not reported: %s", progress_api.last_error().message.c_str());
    }
  };
  const onenet::Status downloaded = api.ota_download(product, device, task, path, progress);
  if (downloaded != onenet::Status::kOk) {
    log("OTA download failed: %s", api.last_error().message.c_str());
    // Section 5.5's step for it (205 MD5, 104 timed out, 106 the link, 107 otherwise); the cloud
    // may make a new task.
    const int step = onenet::ota::download_failure_step(downloaded);
    if (step != 0) (void)api.ota_report_step(product, device, task.tid, step);
    return;
  }
  log("OTA: downloaded %s (MD5 %s checked)", path.c_str(), task.md5.c_str());
  (void)api.ota_report_step(product, device, task.tid, 101);
  *version = task.target;  // the simulated install
  if (api.ota_report_step(product, device, task.tid, 201) == onenet::Status::kOk &&
      api.ota_report_version(product, device, "", *version) == onenet::Status::kOk) {
    log("OTA: installed (simulated), now running %s", version->c_str());
  } else {
    log("OTA report failed: %s", api.last_error().message.c_str());
  }
}

// Desired values (section 4.2): settings an application left for the device while it was away
// (onenet-cli thing set-desired). At each login the device asks for its interval's, applies it,
// and deletes it with the version it applied, so one set meanwhile is not lost.
void take_desired_interval(onenet::model::Device& thing, Telemetry& telemetry) {
  const auto asked = thing.get_desired(
      {"interval"}, [&thing, &telemetry](onenet::Status s, const onenet::model::Reply& r) {
        if (s != onenet::Status::kOk || r.code != 200) {
          log("desired values not read: %s %d %s", onenet::to_string(s), r.code, r.msg.c_str());
          return;
        }
        const nlohmann::json entry = onenet::model::member_or(r.data, "interval", nlohmann::json());
        if (!entry.is_object()) {
          log("no desired interval held");
          return;
        }
        const int64_t seconds = onenet::model::integer_member(entry, "value", 0);
        const int64_t version = onenet::model::integer_member(entry, "version", -1);
        if (!Telemetry::valid_interval(seconds)) {
          // Left for the application to see and replace: deleting it would hide the problem.
          log("desired interval %s refused: 1..3600 seconds",
              onenet::model::member_or(entry, "value", nullptr).dump().c_str());
          return;
        }
        telemetry.interval_s = static_cast<int>(seconds);
        log("desired interval = %d s (version %lld) applied", telemetry.interval_s,
            static_cast<long long>(version));
        const auto deleted = thing.delete_desired(
            {{"interval", static_cast<int>(version)}},
            [version](onenet::Status ds, const onenet::model::Reply& dr) {
              if (ds == onenet::Status::kOk && dr.code == 200) {
                log("desired interval version %lld deleted", static_cast<long long>(version));
              } else {
                log("desired interval not deleted: %s %d %s", onenet::to_string(ds), dr.code,
                    dr.msg.c_str());
              }
            });
        if (!deleted) log("desired interval not deleted: %s", onenet::to_string(deleted.status()));
      });
  if (!asked) log("desired values not asked for: %s", onenet::to_string(asked.status()));
}

}  // namespace

int main(int argc, char** argv) {
  onenet_sample::LinkFlags link;
  std::string tsl_path;
  int interval = 5;
  double threshold = 30.0;
  int count = 0;
  std::string ota_api;
  std::string ota_dir = ".";
  std::string software_version = "1.0";
  CLI::App app{"onenet-telemetry: a OneNET device reporting telemetry (defaults: onenet-local)"};
  app.set_config("--config", "", "Read flags from a TOML/INI file");
  onenet_sample::add_link_options(app, link);
  app.add_option("--interval", interval, "Seconds between reports")
      ->default_val(5)
      ->transform(onenet_sample::decimal())
      ->check(CLI::Range(1, 3600));
  app.add_option("--threshold", threshold, "Temperature that raises 'overheat'")
      ->default_val(30.0)
      ->check(CLI::Validator(
          [](std::string& text) {
            // NaN is greater than nothing: it never raised the event. Infinities never either.
            return std::isfinite(std::strtod(text.c_str(), nullptr)) ? std::string()
                                                                     : "expected a finite number";
          },
          "FLOAT"));
  app.add_option("--tsl", tsl_path,
                 "The product's thing-model JSON: values are checked against it");
  app.add_option("--count", count, "Stop after this many reports (0: run until a signal)")
      ->default_val(0)
      ->transform(onenet_sample::decimal());
  app.add_option("--ota-api", ota_api,
                 "OneNET's HTTP API for OTA updates (onenet-local: its \"http\" URL; OneNET: "
                 "https://iot-api.heclouds.com); off when empty");
  app.add_option("--ota-dir", ota_dir, "Where OTA packages are downloaded")->default_val(".");
  app.add_option("--software-version", software_version,
                 "The version this device reports running (OTA)")
      ->default_val("1.0");
  if (const int exit_code = onenet_sample::parse_flags(app, argc, argv, "onenet-telemetry");
      exit_code >= 0)
    return exit_code;

  onenet::model::ThingModel model;
  if (!tsl_path.empty()) {
    std::string error;
    if (!onenet_sample::load_thing_model(tsl_path, &model, &error)) {
      std::fprintf(stderr, "onenet-telemetry: %s\n", error.c_str());
      return 2;
    }
  }
  std::unique_ptr<onenet::provision::ApiClient> ota;
  std::unique_ptr<onenet::provision::ApiClient> ota_progress;  // steps while `ota` downloads
  if (!ota_api.empty()) {
    if (!onenet::provision::valid_ota_version(software_version)) {
      std::fprintf(stderr,
                   "onenet-telemetry: --software-version: 1 to 20 letters, digits, '_', '.' or "
                   "'-'\n");
      return 2;
    }
    // The device's own token for fuse-ota (section 5.5).
    onenet::provision::ApiOptions api_options;
    api_options.api_url = ota_api;
    api_options.resource = "products/" + link.product + "/devices/" + link.device;
    api_options.access_key = link.key;
    api_options.token_version = std::string(onenet::auth::kVersion2018);
    api_options.hmac = onenet::platform::default_hmac();
    // The loop (and so the MQTT link) waits while a call runs: keep a dead API's wait short.
    api_options.timeout_ms = 5000;
    api_options.max_attempts = 2;
    auto created = onenet::provision::ApiClient::create(api_options);
    if (!created) {
      std::fprintf(stderr, "onenet-telemetry: --ota-api: %s\n",
                   created.status() == onenet::Status::kInvalidArgument
                       ? "expected http:// or https://"
                       : onenet::to_string(created.status()));
      return 2;
    }
    ota = std::move(created.value());
    auto second = onenet::provision::ApiClient::create(api_options);
    if (!second) {  // the same options were just taken: not expected
      std::fprintf(stderr, "onenet-telemetry: --ota-api: %s\n", onenet::to_string(second.status()));
      return 2;
    }
    ota_progress = std::move(second.value());
  }
  const auto transport = onenet_sample::make_transport(link.host, link.port, link.tls, link.cafile);
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<16384, 16384, 32768, 32, 512>>();
  Telemetry telemetry;
  telemetry.interval_s = interval;
  onenet::model::Device thing(*transport, clock, onenet::platform::system_random,
                              onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                              storage->view(), telemetry);
  onenet::model::DeviceOptions options;
  options.product_id = link.product;
  options.device_name = link.device;
  options.access_key = link.key;
  options.thing_model = tsl_path.empty() ? nullptr : &model;
  options.ota_inform = ota != nullptr;
  const onenet::Status started = thing.start(options);
  if (started != onenet::Status::kOk) {
    std::fprintf(stderr, "onenet-telemetry: %s\n",
                 onenet_sample::start_failure(started, thing.last_error()));
    return 2;
  }
  onenet_sample::install_stop_handlers();
  log("device %s/%s -> %s:%u, reporting every %d s", link.product.c_str(), link.device.c_str(),
      link.host.c_str(), link.port, telemetry.interval_s);

  if (ota) {
    // At start: the version running now, then any task that waited while the device was off.
    if (ota->ota_report_version(link.product, link.device, "", software_version) !=
        onenet::Status::kOk) {
      log("OTA version report failed: %s", ota->last_error().message.c_str());
    }
    telemetry.ota_announced = true;
  }

  const uint64_t started_ms = clock.now_ms();
  uint64_t next_report = started_ms;
  int reports = 0;
  bool overheating = false;
  while (!stop_requested && (count == 0 || reports < count)) {
    thing.poll(200);
    if (thing.state() == onenet::client::State::kIdle) {  // a setting that cannot work
      log("stopped: %s", onenet::to_string(thing.client().last_error()));
      return 1;
    }
    if (ota && telemetry.ota_announced && thing.state() == onenet::client::State::kConnected) {
      telemetry.ota_announced = false;
      update_software(*ota, *ota_progress, link.product, link.device, ota_dir, &software_version);
    }
    if (telemetry.desired_due && thing.state() == onenet::client::State::kConnected) {
      telemetry.desired_due = false;
      take_desired_interval(thing, telemetry);
    }
    if (thing.state() != onenet::client::State::kConnected || clock.now_ms() < next_report)
      continue;
    next_report = clock.now_ms() + uint64_t(telemetry.interval_s) * 1000;
    // A slow wave from 25 degrees, so a demo run crosses a threshold of 26 within seconds.
    const double t = static_cast<double>(clock.now_ms() - started_ms) / 1000.0;
    telemetry.temperature = std::round((25.0 + 8.0 * std::sin(t / 10.0)) * 10) / 10;
    telemetry.humidity = std::round((55.0 + 10.0 * std::cos(t / 30.0)) * 10) / 10;
    const nlohmann::json values = {{"temperature", telemetry.temperature},
                                   {"humidity", telemetry.humidity},
                                   {"interval", telemetry.interval_s}};
    const double reported = telemetry.temperature;
    const auto id =
        thing.post_properties(values, [reported](onenet::Status s, const onenet::model::Reply& r) {
          if (s != onenet::Status::kOk) {
            log("property post failed: %s", onenet::to_string(s));
          } else {
            log("reported temperature %.1f: reply %d %s", reported, r.code, r.msg.c_str());
          }
        });
    if (!id) log("not reported: %s %s", onenet::to_string(id.status()), thing.last_error().c_str());
    ++reports;
    const bool hot = telemetry.temperature > threshold;
    if (hot && !overheating) {
      (void)thing.post_event("overheat", {{"temperature", telemetry.temperature}},
                             [](onenet::Status s, const onenet::model::Reply& r) {
                               log("event overheat: %s, reply %d", onenet::to_string(s), r.code);
                             });
    }
    overheating = hot;
  }
  // Let the last replies arrive before leaving (a PUBACK only says the broker has the request).
  const uint64_t drain_until = clock.now_ms() + 2000;
  while (!stop_requested && clock.now_ms() < drain_until && thing.pending() > 0) thing.poll(100);
  thing.disconnect();
  log("disconnected");
  return 0;
}
