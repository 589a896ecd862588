// onenet-datastream: a power meter on a data-stream product (数据流: onenet-protocol.md section
// 4.6, not the thing model). Every --interval seconds it posts data points to three streams
// ("power" and "voltage", numbers; "state", an object), and it answers commands, which are the
// application's text:
//   "read"        -> {"power": W, "voltage": V}
//   "interval N"  -> {"ok": true, "interval": N}   (N from 1 to 3600 seconds)
//   anything else -> {"ok": false, "error": "..."}
// Its interval also lives in the device image (设备镜像, section 3): at every login it reads the
// image and takes a desired "interval" left there while it was away; a delta (the cloud changing
// the desired interval while it is online) is taken at once; and it reports the interval in use
// as the image's reported value, which ends the difference.
// Instead of a device key it can take its product's key (--product-key, "一型一密"): it then
// registers itself through OneNET's legacy API (/mqtt/v1/devices/reg), logs in with the key it
// gets, and keeps that key in --key-file for its next start.
// It leaves cleanly (DISCONNECT) on SIGINT or SIGTERM. The defaults target onenet-local on
// 127.0.0.1:1883, started with --datastream PRODUCT; real OneNET is a matter of flags:
//   --host mqttstls.heclouds.com --port 8883 --tls --cafile platform/certs/onenet-mqtts-ca.pem

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "decimal_option.hpp"
#include "link_options.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet/provision/api_client.hpp"
#include "sample_support.hpp"

namespace {

using nlohmann::json;
using onenet_sample::log;
using onenet_sample::stop_requested;

// The meter: its readings, and what it answers when the application sends a command.
class Meter : public onenet::model::CommandHandler {
 public:
  int interval_s = 5;
  double power = 0;
  double voltage = 0;
  onenet::model::Device* device = nullptr;  // set once the device is made

  std::optional<std::string> on_command(const std::string& id, std::string_view text) override {
    // A command is the application's bytes: printed only when they are plain text.
    const std::string shown = printable(text) ? std::string(text) : "(binary)";
    log("command %s: %s", id.c_str(), shown.c_str());
    json answer;
    if (text == "read") {
      answer = {{"power", power}, {"voltage", voltage}};
    } else if (text.substr(0, 9) == "interval ") {
      char* end = nullptr;
      const std::string number(text.substr(9));
      const long seconds = std::strtol(number.c_str(), &end, 10);
      if (number.empty() || *end != '\0' || seconds < 1 || seconds > 3600) {
        answer = {{"ok", false}, {"error", "interval: 1 to 3600 seconds"}};
      } else {
        interval_s = static_cast<int>(seconds);
        answer = {{"ok", true}, {"interval", interval_s}};
        log("interval = %d s", interval_s);
        report_interval();
      }
    } else {
      answer = {{"ok", false}, {"error", "unknown command: try 'read' or 'interval N'"}};
    }
    return onenet::model::to_text(answer);
  }

  void on_command_answered(const std::string& id, onenet::Status status,
                           const onenet::model::Reply& outcome) override {
    if (status != onenet::Status::kOk) {
      log("response to %s: %s", id.c_str(), onenet::to_string(status));
    } else {
      log("response to %s: %d %s", id.c_str(), outcome.code, outcome.msg.c_str());
    }
  }

  void on_connection(onenet::client::State state, onenet::Status reason) override {
    log("%s%s%s", onenet::client::to_string(state), reason == onenet::Status::kOk ? "" : ": ",
        reason == onenet::Status::kOk ? "" : onenet::to_string(reason));
    if (state == onenet::client::State::kConnected && reason == onenet::Status::kOk) read_image();
  }

  // image/update/delta: the cloud wants another interval now.
  void on_image_delta(const json& delta) override {
    const json* wanted = onenet::model::member(delta, "state");
    if (wanted != nullptr && wanted->is_object()) take_interval(*wanted, "delta");
    report_interval();
  }

 private:
  // At every login: a desired interval left in the image while the meter was away is taken.
  void read_image() {
    const auto sent = device->get_image([this](onenet::Status s, const onenet::model::Reply& r) {
      if (s != onenet::Status::kOk) {
        log("image: not read: %s", onenet::to_string(s));
        return;
      }
      if (r.code == 200) {
        const json* state = onenet::model::member(r.data, "state");
        const json* desired = state != nullptr ? onenet::model::member(*state, "desired") : nullptr;
        if (desired == nullptr || !desired->is_object() ||
            !take_interval(*desired, "image at login"))
          log("image: no desired interval to take");
      } else {
        log("image: %d %s", r.code, r.msg.c_str());  // 167: none yet, the report makes it
      }
      report_interval();
    });
    if (!sent) log("image: not read: %s", onenet::to_string(sent.status()));
  }

  // A desired "interval" (1 to 3600 whole seconds) among `values` is applied; false when there
  // is none, or it cannot be.
  bool take_interval(const json& values, const char* source) {
    const json* value = onenet::model::member(values, "interval");
    if (value == nullptr) return false;
    if (!value->is_number_integer() || value->get<int64_t>() < 1 || value->get<int64_t>() > 3600) {
      log("image: desired interval %s refused (1 to 3600 seconds)",
          onenet::model::to_text(*value).c_str());
      return false;
    }
    interval_s = static_cast<int>(value->get<int64_t>());
    log("image: desired interval = %d s taken (%s)", interval_s, source);
    return true;
  }

  // The interval in use goes to the image as reported: the cloud sees it, and its delta ends.
  void report_interval() {
    const int in_use = interval_s;
    const auto sent = device->update_image(
        {{"interval", in_use}}, nullptr, [in_use](onenet::Status s, const onenet::model::Reply& r) {
          if (s != onenet::Status::kOk) {
            log("image: interval not reported: %s", onenet::to_string(s));
          } else if (r.code != 200) {
            log("image: interval report refused: %d %s", r.code, r.msg.c_str());
          } else {
            log("image: reported interval = %d s", in_use);
          }
        });
    if (!sent) log("image: interval not reported: %s", onenet::to_string(sent.status()));
  }

  static bool printable(std::string_view text) {
    for (const char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    return onenet::model::is_utf8(json(std::string(text)));
  }
};

// 一型一密: the device's own key, from `key_file` when an earlier start kept it there, else by
// registering the device with its product's key (kept in `key_file` then, readable by its owner
// only). The keys are never printed. False after saying why on stderr.
bool obtain_device_key(const onenet_sample::LinkFlags& link, const std::string& product_key,
                       const std::string& api_url, const std::string& key_file, std::string* key) {
  if (!key_file.empty()) {
    std::ifstream in(key_file);
    std::string saved;
    if (in && std::getline(in, saved) && !saved.empty()) {
      log("device key read from %s", key_file.c_str());
      *key = saved;
      return true;
    }
  }
  onenet::provision::ApiOptions options;
  options.api_url = api_url;
  options.resource = "products/" + link.product;
  options.access_key = product_key;
  // As firmware written for OneNET signs it (section 5.3).
  options.token_version = std::string(onenet::auth::kVersion2018);
  options.method = onenet::auth::Method::kSha1;
  options.hmac = onenet::platform::default_hmac();
  auto api = onenet::provision::ApiClient::create(options);
  if (!api) {
    std::fprintf(stderr, "onenet-datastream: --product-key: %s\n", onenet::to_string(api.status()));
    return false;
  }
  onenet::provision::DeviceInfo device;
  if (api.value()->register_device(link.device, "", "", &device) != onenet::Status::kOk) {
    std::fprintf(stderr, "onenet-datastream: registering %s: %s\n", link.device.c_str(),
                 api.value()->last_error().message.c_str());
    return false;
  }
  log("registered %s/%s with the product key (device id %s)", link.product.c_str(),
      link.device.c_str(), device.did.c_str());
  if (!key_file.empty()) {
    const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const std::string line = device.key + "\n";
    const bool kept =
        fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (fd >= 0) ::close(fd);
    if (!kept) {
      std::fprintf(stderr, "onenet-datastream: --key-file %s: cannot write it\n", key_file.c_str());
      return false;
    }
    log("its key kept in %s", key_file.c_str());
  }
  *key = device.key;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  onenet_sample::LinkFlags link;
  int interval = 5;
  int count = 0;
  CLI::App app{"onenet-datastream: a meter on a data-stream product (defaults: onenet-local)"};
  app.set_config("--config", "", "Read flags from a TOML/INI file");
  CLI::Option* key = onenet_sample::add_link_options(app, link, {}, false);
  std::string product_key;
  std::string key_file;
  std::string register_api = onenet::provision::kLegacyApiUrl;
  app.add_option("--product-key", product_key,
                 "Instead of --key: the product's key (Base64; or env ONENET_PRODUCT_KEY); the "
                 "device registers itself with it and logs in with the key it gets")
      ->envname("ONENET_PRODUCT_KEY")
      ->excludes(key);
  app.add_option("--key-file", key_file,
                 "With --product-key: keep the device's key here, and use it on later starts");
  app.add_option("--register-api", register_api, "With --product-key: the API to register through")
      ->default_val(onenet::provision::kLegacyApiUrl);
  app.add_option("--interval", interval, "Seconds between reports")
      ->default_val(5)
      ->transform(onenet_sample::decimal())
      ->check(CLI::Range(1, 3600));
  app.add_option("--count", count, "Stop after this many reports (0: run until a signal)")
      ->default_val(0)
      ->transform(onenet_sample::decimal());
  if (const int exit_code = onenet_sample::parse_flags(app, argc, argv, "onenet-datastream");
      exit_code >= 0)
    return exit_code;
  if (link.key.empty() && product_key.empty()) {
    std::fprintf(stderr, "onenet-datastream: --key or --product-key is required (see --help)\n");
    return 2;
  }
  if (link.key.empty() && !obtain_device_key(link, product_key, register_api, key_file, &link.key))
    return 1;

  const auto transport = onenet_sample::make_transport(link.host, link.port, link.tls, link.cafile);
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<16384, 16384, 32768, 32, 512>>();
  Meter meter;
  meter.interval_s = interval;
  onenet::model::Device device(*transport, clock, onenet::platform::system_random,
                               onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                               storage->view(), meter);
  meter.device = &device;
  onenet::model::DeviceOptions options;
  options.protocol = onenet::model::DataProtocol::kDataStream;
  options.product_id = link.product;
  options.device_name = link.device;
  options.access_key = link.key;
  options.device_image = true;  // image/# carries the image's answers and deltas
  const onenet::Status started = device.start(options);
  if (started != onenet::Status::kOk) {
    std::fprintf(stderr, "onenet-datastream: %s\n",
                 onenet_sample::start_failure(started, device.last_error()));
    return 2;
  }
  onenet_sample::install_stop_handlers();
  log("meter %s/%s -> %s:%u, reporting every %d s", link.product.c_str(), link.device.c_str(),
      link.host.c_str(), link.port, meter.interval_s);

  const uint64_t started_ms = clock.now_ms();
  uint64_t next_report = started_ms;
  int reports = 0;
  while (!stop_requested && (count == 0 || reports < count)) {
    device.poll(200);
    if (device.state() == onenet::client::State::kIdle) {  // a setting that cannot work
      log("stopped: %s", onenet::to_string(device.client().last_error()));
      return 1;
    }
    if (device.state() != onenet::client::State::kConnected || clock.now_ms() < next_report)
      continue;
    next_report = clock.now_ms() + uint64_t(meter.interval_s) * 1000;
    // A load that swings slowly around 1.2 kW on a 230 V line.
    const double t = static_cast<double>(clock.now_ms() - started_ms) / 1000.0;
    meter.power = std::round((1200.0 + 300.0 * std::sin(t / 20.0)) * 10) / 10;
    meter.voltage = std::round((230.0 + 2.0 * std::cos(t / 7.0)) * 10) / 10;
    const json values = {{"power", meter.power},
                         {"voltage", meter.voltage},
                         {"state", {{"load", meter.power > 1200 ? "high" : "normal"}}}};
    const double reported = meter.power;
    // No time given: the cloud stamps the points as they arrive.
    const auto id =
        device.post_datapoints(values, [reported](onenet::Status s, const onenet::model::Reply& r) {
          if (s != onenet::Status::kOk) {
            log("data points failed: %s", onenet::to_string(s));
          } else {
            log("reported power %.1f W: %d %s", reported, r.code, r.msg.c_str());
          }
        });
    if (!id)
      log("not reported: %s %s", onenet::to_string(id.status()), device.last_error().c_str());
    ++reports;
  }
  // Let the last answers arrive before leaving (a PUBACK only says the broker has the points).
  const uint64_t drain_until = clock.now_ms() + 2000;
  while (!stop_requested && clock.now_ms() < drain_until && device.pending() > 0) device.poll(100);
  device.disconnect();
  log("disconnected");
  return 0;
}
