// onenet-gateway: a OneNET gateway carrying the sub-devices listed in --subdevices-file (the
// output of `onenet-cli provision`: CSV product_id,device_name,key or the JSON form). It binds
// each sub-device to itself, logs them in (paced), reports simulated temperature and humidity for
// every online sub-device each --interval seconds through pack/post, answers property sets
// ("interval") and gets for each, and leaves cleanly (DISCONNECT) on SIGINT or SIGTERM. After a
// lost link it reconnects and logs every sub-device in again by itself.
// Defaults target onenet-local on 127.0.0.1:1883.

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <sstream>

#include "decimal_option.hpp"
#include "link_options.hpp"
#include "onenet/gateway/gateway.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "sample_support.hpp"
#include "thing_model_file.hpp"

namespace {

using nlohmann::json;

using onenet_sample::log;
using onenet_sample::read_file;
using onenet_sample::stop_requested;

// One simulated sensor behind the gateway.
class Sensor : public onenet::gateway::SubDeviceHandler {
 public:
  Sensor(std::string product, std::string name, int interval_s, double phase)
      : product_id(std::move(product)),
        name(std::move(name)),
        interval_s(interval_s),
        phase(phase) {}

  onenet::model::Reply on_property_set(const json& params) override {
    if (params.contains("interval") && params["interval"].is_number_integer()) {
      interval_s = std::max(1, params["interval"].get<int>());
      log("%s: property set interval = %d s", name.c_str(), interval_s);
    }
    return {200, "success", {}};
  }
  onenet::model::Reply on_property_get(const std::vector<std::string>& ids) override {
    json data = json::object();
    for (const std::string& id : ids) {
      if (id == "temperature") data[id] = temperature;
      if (id == "humidity") data[id] = humidity;
      if (id == "interval") data[id] = interval_s;
    }
    return {200, "success", data};
  }
  void on_state(onenet::gateway::SubState state, const onenet::model::Reply& reply) override {
    if (state == onenet::gateway::SubState::kRefused)
      log("%s: refused by the cloud: %d %s", name.c_str(), reply.code, reply.msg.c_str());
  }

  std::string product_id;
  std::string name;
  int interval_s;
  double phase;
  double temperature = 25.0;
  double humidity = 50.0;
};

struct SubDeviceLine {
  std::string product_id, device_name, key;
};

// CSV (header product_id,device_name,key) or a JSON array of {product_id, device_name, key}.
bool load_subdevices(const std::string& path, std::vector<SubDeviceLine>* out, std::string* error) {
  std::string text;
  if (!read_file(path, &text) || text.empty()) {
    *error = "cannot read " + path + " (or it is empty)";
    return false;
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    const json list = onenet::model::parse_json(text);
    if (!list.is_array()) {
      *error = path + ": not valid JSON";
      return false;
    }
    for (const json& item : list) {
      if (!item.is_object() || !item.contains("device_name") || !item.contains("key")) {
        *error = path + ": each entry needs product_id, device_name and key";
        return false;
      }
      out->push_back({onenet::model::string_member(item, "product_id"),
                      onenet::model::string_member(item, "device_name"),
                      onenet::model::string_member(item, "key")});
    }
    return true;
  }
  std::istringstream lines(text);
  std::string line;
  size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("product_id,", 0) == 0)) continue;
    const size_t a = line.find(',');
    const size_t b = a == std::string::npos ? a : line.find(',', a + 1);
    if (b == std::string::npos) {
      *error = path + ":" + std::to_string(number) + ": expected product_id,device_name,key";
      return false;
    }
    out->push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  onenet_sample::LinkFlags link;
  std::string subdevices_file, tsl_path;
  int interval = 5;
  uint32_t logins_per_second = 20;
  int rounds = 0;
  CLI::App app{"onenet-gateway: a OneNET gateway with sub-devices (defaults: onenet-local)"};
  onenet_sample::add_link_options(app, link, "The gateway's");
  app.add_option("--subdevices-file", subdevices_file,
                 "Sub-devices: the file `onenet-cli provision` writes (CSV or JSON)")
      ->required();
  app.add_option("--interval", interval, "Seconds between each sub-device's reports")
      ->default_val(5)
      ->transform(onenet_sample::decimal())
      ->check(CLI::Range(1, 3600));
  app.add_option("--logins-per-second", logins_per_second, "Pace of sub-device logins and binds")
      ->default_val(20)
      ->transform(onenet_sample::decimal())
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--tsl", tsl_path, "The sub-devices' thing-model JSON: values are checked");
  app.add_option("--rounds", rounds, "Stop after this many report rounds (0: run until a signal)")
      ->default_val(0)
      ->transform(onenet_sample::decimal());
  if (const int exit_code = onenet_sample::parse_flags(app, argc, argv, "onenet-gateway");
      exit_code >= 0)
    return exit_code;
  std::vector<SubDeviceLine> lines;
  std::string error;
  if (!load_subdevices(subdevices_file, &lines, &error)) {
    std::fprintf(stderr, "onenet-gateway: %s\n", error.c_str());
    return 2;
  }
  onenet::model::ThingModel model;
  if (!tsl_path.empty() && !onenet_sample::load_thing_model(tsl_path, &model, &error)) {
    std::fprintf(stderr, "onenet-gateway: %s\n", error.c_str());
    return 2;
  }

  const auto transport = onenet_sample::make_transport(link.host, link.port, link.tls, link.cafile);
  onenet::platform::SystemClock clock;
  // Room for a full pack/post of 10 sub-devices and a few hundred requests in flight.
  using Storage = onenet::client::StaticStorage<65536, 65536, 512 * 1024, 256, 512>;
  auto storage = std::make_unique<Storage>();
  onenet::model::CommandHandler own_commands;  // the gateway itself has no properties here
  onenet::gateway::Gateway gateway(*transport, clock, onenet::platform::system_random,
                                   onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                                   storage->view(), own_commands);
  onenet::gateway::GatewayOptions options;
  options.device.product_id = link.product;
  options.device.device_name = link.device;
  options.device.access_key = link.key;
  options.logins_per_second = logins_per_second;

  std::deque<Sensor> sensors;
  for (const SubDeviceLine& line : lines) {
    sensors.emplace_back(line.product_id, line.device_name, interval,
                         static_cast<double>(sensors.size()));
    const onenet::Status added =
        gateway.add({line.product_id, line.device_name, line.key}, &sensors.back());
    if (added != onenet::Status::kOk) {
      if (!gateway.last_error().empty()) {  // which rule the line breaks, in words
        std::fprintf(stderr, "onenet-gateway: %s: %s\n", subdevices_file.c_str(),
                     gateway.last_error().c_str());
      } else {
        std::fprintf(stderr, "onenet-gateway: sub-device %s/%s: %s\n", line.product_id.c_str(),
                     line.device_name.c_str(), onenet::to_string(added));
      }
      return 2;
    }
    if (!tsl_path.empty()) options.thing_models[line.product_id] = &model;
  }
  const onenet::Status started = gateway.start(options);
  if (started != onenet::Status::kOk) {
    std::fprintf(stderr, "onenet-gateway: %s\n",
                 onenet_sample::start_failure(started, gateway.last_error().empty()
                                                           ? gateway.device().last_error()
                                                           : gateway.last_error()));
    return 2;
  }
  onenet_sample::install_stop_handlers();
  log("gateway %s/%s -> %s:%u with %zu sub-devices, each reporting every %d s",
      link.product.c_str(), link.device.c_str(), link.host.c_str(), link.port, sensors.size(),
      interval);

  bool was_connected = false;
  bool ever_connected = false;
  size_t last_online = SIZE_MAX;
  int completed_rounds = 0;
  const uint64_t started_ms = clock.now_ms();
  uint64_t next_tick_ms = 0;
  uint64_t tick = 0;
  while (!stop_requested && (rounds == 0 || completed_rounds < rounds)) {
    gateway.poll(100);
    if (gateway.device().state() == onenet::client::State::kIdle) {  // a setting that cannot work
      log("stopped: %s", onenet::to_string(gateway.device().client().last_error()));
      return 1;
    }
    const bool connected = gateway.device().state() == onenet::client::State::kConnected;
    if (connected && !was_connected) {
      log("connected");
      gateway.bind_and_login_all();  // binds what is not bound yet; logins follow
    } else if (!connected && was_connected) {
      log("link down; reconnecting (sub-devices log in again by themselves)");
    }
    was_connected = connected;
    ever_connected = ever_connected || connected;
    if (gateway.online_count() != last_online) {
      last_online = gateway.online_count();
      if (last_online == sensors.size()) {
        log("all %zu sub-devices online", sensors.size());
      } else if (last_online % 100 == 0) {
        log("%zu/%zu sub-devices online", last_online, sensors.size());
      }
    }
    if (!connected) continue;

    // A tick a second; a sensor reports on the ticks its interval divides, so sensors with the
    // same interval share messages. Every online sensor due goes into one report (split by the
    // gateway at OneNET's limits).
    const uint64_t now = clock.now_ms();
    if (now < next_tick_ms) continue;
    next_tick_ms = now + 1000;
    ++tick;
    std::vector<onenet::gateway::SubReport> due;
    for (Sensor& s : sensors) {
      if (tick % static_cast<uint64_t>(s.interval_s) != 0 ||
          gateway.state(s.product_id, s.name) != onenet::gateway::SubState::kOnline) {
        continue;
      }
      const double t = static_cast<double>(now - started_ms) / 1000.0 + s.phase;
      s.temperature = std::round((25.0 + 8.0 * std::sin(t / 10.0)) * 10) / 10;
      s.humidity = std::round((55.0 + 10.0 * std::cos(t / 30.0)) * 10) / 10;
      due.push_back({s.product_id,
                     s.name,
                     {{"temperature", {{"value", s.temperature}, {"time", int64_t(now)}}},
                      {"humidity", {{"value", s.humidity}, {"time", int64_t(now)}}}},
                     json::object()});
    }
    if (due.empty()) continue;
    const size_t count = due.size();
    const onenet::Status sent =
        gateway.report(due, false, [count](onenet::Status s, const onenet::model::Reply& r) {
          if (s == onenet::Status::kOk) {
            log("reported %zu sub-devices: reply 200", count);
          } else {
            log("report of %zu sub-devices failed: %s (%d %s)", count, onenet::to_string(s), r.code,
                r.msg.c_str());
          }
        });
    if (sent != onenet::Status::kOk) {
      log("not reported: %s %s", onenet::to_string(sent), gateway.last_error().c_str());
    } else if (gateway.online_count() == sensors.size()) {
      ++completed_rounds;
    }
  }
  const uint64_t drain_until = clock.now_ms() + 1000;
  while (!stop_requested && clock.now_ms() < drain_until && gateway.device().pending() > 0)
    gateway.poll(100);
  const onenet::Status last_error = gateway.device().client().last_error();
  gateway.disconnect();
  if (ever_connected) {
    log("disconnected");
  } else {
    log("stopped before connecting: %s", onenet::to_string(last_error));
  }
  return 0;
}
