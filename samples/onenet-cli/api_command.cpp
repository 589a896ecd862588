// onenet-cli device create|register|detail|list|delete, onenet-cli provision, onenet-cli ota
// version|check|download|step, onenet-cli thing properties|history|set|call|desired|set-desired|
// delete-desired and onenet-cli datastream points|command|image: OneNET's HTTP API through
// sdk/provision. Credentials come from flags, then environment variables, then a JSON config
// file; the access key is never printed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/provision/api_client.hpp"

namespace onenet_cli {
namespace {

using nlohmann::json;
using onenet::Status;
using onenet::provision::ApiClient;
using onenet::provision::DeviceInfo;

constexpr int kExitFailed = 1;

struct ApiFlags {
  std::string api;
  std::string user_id;
  std::string access_key;
  std::string auth = "user";
  std::string token_version;
  std::string cafile;
  std::string config;
  uint32_t timeout_s = 10;
  uint32_t retries = 3;
  std::string product;
  std::string name;
  std::string desc;
  bool json_output = false;
  // provision
  uint32_t count = 0;
  std::string prefix;
  std::string out;
  bool csv_output = false;
  // ota
  std::string kind = "software";
  std::string version;
  std::string firmware_version;
  std::string software_version;
  std::string tid;
  int step = -1;
  bool report = false;
  // thing
  std::string params;
  std::string service;
  std::vector<std::string> identifiers;
  // thing history
  std::string identifier;
  int64_t from_ms = -1;  // -1: --hours before --to
  int64_t to_ms = -1;    // -1: now
  uint32_t hours = 24;
  bool newest_first = false;
  uint32_t offset = 0;
  uint32_t limit = 100;
  // datastream (its --stream ids go to identifiers)
  uint32_t since_hours = 0;  // 0: the newest point of each stream (without --from)
  std::string text;
  std::string hex;
  uint32_t wait_s = 10;
  // device register, datastream image (OneNET's legacy MQTTS API)
  std::string own_key;
  std::string device_id;
  std::string desired;
  std::string reported;
};

ApiFlags flags;
std::string command_name;  // for messages: "device create", "provision", ...

int say_error(int exit_status, const std::string& message) {
  std::fprintf(stderr, "onenet-cli %s: %s\n", command_name.c_str(), message.c_str());
  return exit_status;
}

int api_failure(const ApiClient& client) {
  const onenet::provision::ApiError& e = client.last_error();
  switch (e.status) {
    case Status::kProvisionApiError:  // OneNET's own words
      return say_error(kExitFailed, e.message + " (OneNET code " + std::to_string(e.code) + ")");
    case Status::kProvisionBadCredentials:
      return say_error(kExitFailed, "bad credentials: " + e.message + " (OneNET code " +
                                        std::to_string(e.code) +
                                        "): check --user-id/--auth, --access-key and the clock");
    default:
      return say_error(kExitFailed, e.message + ": " + onenet::to_string(e.status));
  }
}

// A failed call of the ota and thing actions: arguments the client refused before sending
// (kInvalidArgument) are the user's to fix, exit 2; anything else as api_failure.
int refused(const ApiClient& client) {
  return client.last_error().status == Status::kInvalidArgument
             ? say_error(kExitBadInput, client.last_error().message)
             : api_failure(client);
}

// Fills what flags and environment variables left empty from the config file (JSON object with
// api, user_id, access_key, auth, cafile), named by --config or ONENET_CONFIG.
bool apply_config_file(std::string* error) {
  // Read here rather than through CLI11's envname: the four device actions share these fields,
  // and CLI11 would let an environment variable bound to an unused action override a flag.
  const auto from_env = [](std::string& field, const char* variable) {
    const char* value = std::getenv(variable);
    if (field.empty() && value != nullptr) field = value;
  };
  from_env(flags.api, "ONENET_API");
  from_env(flags.user_id, "ONENET_USER_ID");
  from_env(flags.access_key, "ONENET_ACCESS_KEY");
  from_env(flags.config, "ONENET_CONFIG");
  if (flags.config.empty()) return true;
  std::ifstream in(flags.config);
  if (!in) {
    *error = "--config: cannot read " + flags.config;
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  const json config = json::parse(text.str(), nullptr, false);
  if (!config.is_object()) {
    *error = "--config: " + flags.config + " is not a JSON object";
    return false;
  }
  // Each member is text; a user id may also be written as a number (the console shows digits).
  // Anything else is said, not skipped: a skipped member surfaces later as "missing".
  bool ok = true;
  const auto fill = [&](std::string& field, const char* key) {
    const auto it = config.find(key);
    if (it == config.end()) return;
    if (it->is_string()) {
      if (field.empty()) field = it->get<std::string>();
    } else if (it->is_number_unsigned() && std::string(key) == "user_id") {
      if (field.empty()) field = std::to_string(it->get<uint64_t>());
    } else if (ok) {
      *error = "--config: " + flags.config + ": " + key + " must be a string";
      ok = false;
    }
  };
  fill(flags.api, "api");
  fill(flags.user_id, "user_id");
  fill(flags.access_key, "access_key");
  fill(flags.cafile, "cafile");
  std::string auth;
  fill(auth, "auth");
  if (!auth.empty() && flags.auth == "user") flags.auth = auth;
  return ok;
}

// A client for --api, or for `default_url` when --api is not given (self-registration and the
// device image are OneNET's legacy MQTTS API, on a host of its own).
std::unique_ptr<ApiClient> make_client(
    int* exit_status, const char* default_url = onenet::provision::kDefaultApiUrl) {
  std::string error;
  if (!apply_config_file(&error)) {
    *exit_status = say_error(kExitBadInput, error);
    return nullptr;
  }
  onenet::provision::ApiOptions options;
  options.api_url = flags.api.empty() ? default_url : flags.api;
  if (flags.auth == "user") {
    if (flags.user_id.empty()) {
      *exit_status = say_error(kExitBadInput,
                               "--user-id (or ONENET_USER_ID, or user_id in --config) is required");
      return nullptr;
    }
    options.resource = "userid/" + flags.user_id;
    options.token_version = std::string(onenet::auth::kVersion2022);
  } else if (flags.auth == "product") {
    options.resource = "products/" + flags.product;
    options.token_version = std::string(onenet::auth::kVersion2018);
  } else if (flags.auth == "device" && !flags.name.empty()) {
    // What a device itself presents (fuse-ota, section 5.5): its own key and resource.
    options.resource = "products/" + flags.product + "/devices/" + flags.name;
    options.token_version = std::string(onenet::auth::kVersion2018);
  } else {
    *exit_status =
        say_error(kExitBadInput, flags.auth == "device" ? "--auth device needs --name"
                                                        : "--auth must be user, product or device");
    return nullptr;
  }
  if (!flags.token_version.empty()) options.token_version = flags.token_version;
  if (flags.access_key.empty()) {
    *exit_status =
        say_error(kExitBadInput,
                  "--access-key (or ONENET_ACCESS_KEY, or access_key in --config) is required");
    return nullptr;
  }
  options.access_key = flags.access_key;
  options.ca_file = flags.cafile;
  options.timeout_ms = flags.timeout_s * 1000;
  options.max_attempts = flags.retries + 1;
  options.hmac = onenet::platform::default_hmac();
  auto client = ApiClient::create(std::move(options));
  if (!client) {
    const Status s = client.status();
    *exit_status =
        say_error(kExitBadInput, s == Status::kInvalidArgument
                                     ? "--api must start with http:// or https://"
                                     : std::string("--access-key: ") + onenet::to_string(s));
    return nullptr;
  }
  return std::move(client.value());
}

void add_api_options(CLI::App* cmd) {
  cmd->add_option("--api", flags.api,
                  "API base URL (default https://iot-api.heclouds.com); or env ONENET_API");
  cmd->add_option("--user-id", flags.user_id, "OneNET user id; or env ONENET_USER_ID");
  cmd->add_option("--access-key", flags.access_key,
                  "User (or, with --auth product/device, product/device) access key; or env "
                  "ONENET_ACCESS_KEY");
  cmd->add_option("--auth", flags.auth,
                  "Token level: user (userid/{id}), product (products/{pid}) or device "
                  "(products/{pid}/devices/{name})")
      ->check(CLI::IsMember({"user", "product", "device"}));
  cmd->add_option("--token-version", flags.token_version,
                  "Token version (default 2022-05-01 for user, 2018-10-31 for product and device)");
  cmd->add_option("--cafile", flags.cafile, "CA bundle (PEM) for https (default: system store)");
  cmd->add_option("--config", flags.config,
                  "JSON file with api, user_id, access_key, auth, cafile; or env ONENET_CONFIG");
  cmd->add_option("--timeout", flags.timeout_s, "Seconds per request attempt")
      ->default_val(10)
      ->transform(decimal());
  cmd->add_option(
         "--retries", flags.retries,
         "Retries after network failures (a command to a device: only while none of it was sent)")
      ->default_val(3)
      ->transform(decimal());
  cmd->add_option("--product", flags.product, "Product id")->required();
}

json device_json(const DeviceInfo& d) {
  return {{"product_id", d.product_id},
          {"device_name", d.name},
          {"did", d.did},
          {"key", d.key},
          {"desc", d.desc},
          {"status", d.status},
          {"create_time", d.create_time_ms},
          {"last_time", d.last_time_ms}};
}

const char* status_word(int status) {
  return status == 1 ? "online" : status == 0 ? "offline" : "never-connected";
}

int run_device(const std::string& action) {
  command_name = "device " + action;
  int exit_status = 0;
  auto client = make_client(&exit_status, action == "register" ? onenet::provision::kLegacyApiUrl
                                                               : onenet::provision::kDefaultApiUrl);
  if (!client) return exit_status;
  if (action != "list" && flags.name.empty()) return say_error(kExitBadInput, "--name is required");
  if (action == "register") {
    // The device's own call (section 5.3): the product's token, so --auth product.
    DeviceInfo d;
    if (client->register_device(flags.name, flags.desc, flags.own_key, &d) != Status::kOk)
      return refused(*client);
    std::printf("%s\n", flags.json_output ? device_json(d).dump().c_str() : d.key.c_str());
  } else if (action == "create") {
    DeviceInfo d;
    if (client->create_device(flags.product, flags.name, flags.desc, &d) != Status::kOk)
      return api_failure(*client);
    // The key alone, so a script can capture it: key=$(onenet-cli device create ...).
    std::printf("%s\n", flags.json_output ? device_json(d).dump().c_str() : d.key.c_str());
  } else if (action == "detail") {
    DeviceInfo d;
    if (client->device_detail(flags.product, flags.name, &d) != Status::kOk)
      return api_failure(*client);
    if (flags.json_output) {
      std::printf("%s\n", device_json(d).dump().c_str());
    } else {
      std::printf(
          "product_id  %s\ndevice_name %s\ndid         %s\nstatus      %s\nkey         %s\n",
          d.product_id.c_str(), d.name.c_str(), d.did.c_str(), status_word(d.status),
          d.key.c_str());
    }
  } else if (action == "list") {
    std::vector<DeviceInfo> devices;
    if (client->list_devices(flags.product, &devices) != Status::kOk) return api_failure(*client);
    if (flags.json_output) {
      json list = json::array();
      for (const DeviceInfo& d : devices) list.push_back(device_json(d));
      std::printf("%s\n", list.dump().c_str());
    } else {
      for (const DeviceInfo& d : devices)
        std::printf("%s\t%s\t%s\n", d.name.c_str(), status_word(d.status), d.did.c_str());
    }
  } else if (action == "delete") {
    if (client->delete_device(flags.product, flags.name) != Status::kOk)
      return api_failure(*client);
    std::printf("deleted %s/%s\n", flags.product.c_str(), flags.name.c_str());
  }
  return 0;
}

// Progress on stderr: a bar redrawn in place on a terminal, one line per device otherwise
// (logs of factory runs stay readable).
class Progress {
 public:
  explicit Progress(uint32_t total) : total_(total), terminal_(::isatty(STDERR_FILENO) == 1) {}
  void step(const std::string& name, const char* what) {
    ++done_;
    if (!terminal_) {
      std::fprintf(stderr, "%s %s (%u/%u)\n", name.c_str(), what, done_, total_);
      return;
    }
    constexpr uint32_t kWidth = 40;
    const uint32_t filled = total_ ? done_ * kWidth / total_ : kWidth;
    std::fprintf(stderr, "\r[%s%s] %u/%u", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), done_, total_);
    if (done_ == total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  uint32_t total_;
  uint32_t done_ = 0;
  bool terminal_;
};

bool write_atomically(const std::string& path, const std::string& text, std::string* error) {
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      *error = "cannot write " + temporary;
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + temporary + " to " + path;
    return false;
  }
  return true;
}

int run_provision() {
  command_name = "provision";
  int exit_status = 0;
  auto client = make_client(&exit_status);
  if (!client) return exit_status;
  if (flags.json_output && flags.csv_output)
    return say_error(kExitBadInput, "--json or --csv, not both");
  const bool as_json =
      flags.json_output || (!flags.csv_output && flags.out.size() > 5 &&
                            flags.out.compare(flags.out.size() - 5, 5, ".json") == 0);
  // Checked before anything is created: names the cloud would refuse one by one, and an output
  // file that could not be written once the devices exist.
  const std::string last_name = flags.prefix + std::to_string(flags.count);
  if (!onenet::model::valid_name(flags.prefix + "1") || !onenet::model::valid_name(last_name)) {
    return say_error(kExitBadInput, "--prefix: device names " + flags.prefix + "1.." + last_name +
                                        " must be 1 to 64 letters, digits, '_' or '-'");
  }
  {
    const std::string probe = flags.out + ".partial";
    std::ofstream out(probe, std::ios::trunc);
    if (!out) return say_error(kExitFailed, "cannot write " + probe + " (nothing was created)");
    out.close();
    std::remove(probe.c_str());
  }

  // Resumable: what an earlier (interrupted) run created is found by listing, not re-created.
  std::vector<DeviceInfo> existing;
  if (client->list_devices(flags.product, &existing) != Status::kOk) return api_failure(*client);
  std::map<std::string, DeviceInfo> by_name;
  for (DeviceInfo& d : existing) by_name[d.name] = std::move(d);

  Progress progress(flags.count);
  std::vector<DeviceInfo> devices;
  uint32_t created = 0;
  for (uint32_t i = 1; i <= flags.count; ++i) {
    const std::string name = flags.prefix + std::to_string(i);
    DeviceInfo d;
    const auto found = by_name.find(name);
    if (found != by_name.end() && !found->second.key.empty()) {
      d = found->second;
      progress.step(name, "exists");
    } else if (found != by_name.end()) {  // listed without its key: ask for the detail
      if (client->device_detail(flags.product, name, &d) != Status::kOk)
        return api_failure(*client);
      progress.step(name, "exists");
    } else if (client->create_device(flags.product, name, {}, &d) == Status::kOk) {
      ++created;
      progress.step(name, "created");
    } else {
      // The create may have succeeded with its answer lost (then retried and refused as a
      // duplicate): the device is there if detail finds it. If not, the create's refusal is the
      // one to report (not detail's "not found").
      const onenet::provision::ApiError refusal = client->last_error();
      if (refusal.status != Status::kProvisionApiError) return api_failure(*client);
      if (client->device_detail(flags.product, name, &d) != Status::kOk) {
        return say_error(kExitFailed, name + ": " + refusal.message + " (OneNET code " +
                                          std::to_string(refusal.code) + ")");
      }
      progress.step(name, "exists");
    }
    devices.push_back(std::move(d));
  }

  std::string text;
  if (as_json) {
    json list = json::array();
    for (const DeviceInfo& d : devices)
      list.push_back({{"product_id", d.product_id}, {"device_name", d.name}, {"key", d.key}});
    text = list.dump(2) + "\n";
  } else {
    text = "product_id,device_name,key\n";
    for (const DeviceInfo& d : devices) text += d.product_id + "," + d.name + "," + d.key + "\n";
  }
  std::string error;
  if (!write_atomically(flags.out, text, &error)) return say_error(kExitFailed, error);
  std::fprintf(stderr, "%zu devices in %s (%u created, %zu already existed)\n", devices.size(),
               flags.out.c_str(), created, devices.size() - created);
  return 0;
}

std::string device_action;
std::string ota_action;

// The kind of software a task updates: --kind firmware (FOTA) or software (SOTA).
onenet::provision::OtaKind ota_kind() {
  return flags.kind == "firmware" ? onenet::provision::OtaKind::kFirmware
                                  : onenet::provision::OtaKind::kSoftware;
}

json task_json(const onenet::provision::OtaTask& t) {
  return {{"tid", t.tid}, {"target", t.target}, {"size", t.size},
          {"md5", t.md5}, {"status", t.status}, {"type", t.type}};
}

// Exit 1 with "no OTA task" when there is none: a script tells that from a failure by the text
// or by checking first.
int run_ota(const std::string& action) {
  command_name = "ota " + action;
  int exit_status = 0;
  auto client = make_client(&exit_status);
  if (!client) return exit_status;
  using onenet::provision::OtaTask;
  if (action == "version") {
    if (client->ota_report_version(flags.product, flags.name, flags.firmware_version,
                                   flags.software_version) != Status::kOk) {
      return refused(*client);
    }
    std::printf("reported %s/%s\n", flags.product.c_str(), flags.name.c_str());
    return 0;
  }
  if (action == "step") {
    if (client->ota_report_step(flags.product, flags.name, flags.tid, flags.step) != Status::kOk) {
      return refused(*client);
    }
    std::printf("task %s: step %d reported\n", flags.tid.c_str(), flags.step);
    return 0;
  }
  // check, download: the task first.
  OtaTask task;
  const Status checked =
      client->ota_check(flags.product, flags.name, ota_kind(), flags.version, &task);
  if (checked == Status::kProvisionNoOtaTask) {
    return say_error(kExitFailed, "no OTA task for " + flags.kind + " " + flags.version);
  }
  if (checked != Status::kOk) return refused(*client);
  if (action == "check") {
    if (flags.json_output) {
      std::printf("%s\n", task_json(task).dump().c_str());
    } else {
      std::printf("tid    %s\ntarget %s\nsize   %llu\nmd5    %s\n", task.tid.c_str(),
                  task.target.c_str(), static_cast<unsigned long long>(task.size),
                  task.md5.c_str());
    }
    return 0;
  }
  // --report: progress in tenths (step 0-100), 101 once whole, or the failure's step, through a
  // second client: the first one's libcurl handle is busy while it downloads.
  std::unique_ptr<ApiClient> reporter;
  if (flags.report) {
    reporter = make_client(&exit_status);
    if (!reporter) return exit_status;
  }
  const auto report = [&](int step) {
    if (reporter &&
        reporter->ota_report_step(flags.product, flags.name, task.tid, step) != Status::kOk) {
      std::fprintf(stderr, "onenet-cli ota download: step %d not reported: %s\n", step,
                   reporter->last_error().message.c_str());
    }
  };
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  uint64_t shown = 0;
  int reported = -1;
  const Status downloaded = client->ota_download(
      flags.product, flags.name, task, flags.out, [&](uint64_t held, uint64_t total) {
        const int percent = static_cast<int>(held * 10 / total) * 10;
        if (percent != reported) {
          reported = percent;
          report(percent);
        }
        // Every tenth on a log, the bar on a terminal.
        const uint64_t tenth = held * 10 / total;
        if (!terminal && tenth == shown) return;
        shown = tenth;
        std::fprintf(stderr, terminal ? "\r%llu/%llu bytes" : "%llu/%llu bytes\n",
                     static_cast<unsigned long long>(held), static_cast<unsigned long long>(total));
      });
  if (terminal) std::fprintf(stderr, "\n");
  if (downloaded != Status::kOk) {
    // Section 5.5's codes: 205 MD5, 104 timed out, 106 the link, 107 otherwise.
    const int step = onenet::ota::download_failure_step(downloaded);
    if (step != 0) report(step);
    return downloaded == Status::kInvalidArgument
               ? say_error(kExitBadInput, client->last_error().message)
               : api_failure(*client);
  }
  report(101);
  std::printf("%s: %s (task %s, %llu bytes, MD5 %s checked)\n", flags.out.c_str(),
              task.target.c_str(), task.tid.c_str(), static_cast<unsigned long long>(task.size),
              task.md5.c_str());
  return 0;
}

std::string thing_action;

// A report time (ms since the epoch) as UTC ISO 8601, as people read it; "-" when not given.
std::string utc_time(int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm parts{};
  if (::gmtime_r(&seconds, &parts) == nullptr) return "-";
  char text[40];
  const size_t date = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  if (date == 0) return "-";
  std::snprintf(text + date, sizeof text - date, ".%03dZ", static_cast<int>(ms % 1000));
  return text;
}

// The cloud's side of the thing model: what an application does to a device.
int run_thing(const std::string& action) {
  command_name = "thing " + action;
  int exit_status = 0;
  auto client = make_client(&exit_status);
  if (!client) return exit_status;
  if (action == "properties") {
    std::vector<onenet::provision::PropertyValue> values;
    if (client->query_device_properties(flags.product, flags.name, &values) != Status::kOk)
      return refused(*client);
    if (flags.json_output) {
      json list = json::array();
      for (const auto& v : values) {
        list.push_back({{"identifier", v.identifier},
                        {"value", json::parse(v.value_json, nullptr, false)},
                        {"time", v.time_ms},
                        {"name", v.name},
                        {"data_type", v.data_type}});
      }
      std::printf("%s\n", list.dump().c_str());
    } else {
      for (const auto& v : values) {
        std::printf("%s\t%s\t%s\n", v.identifier.c_str(), v.value_json.c_str(),
                    utc_time(v.time_ms).c_str());
      }
    }
    return 0;
  }
  if (action == "set") {
    if (client->set_device_properties(flags.product, flags.name, flags.params) != Status::kOk)
      return refused(*client);
    std::printf("%s/%s accepted %s\n", flags.product.c_str(), flags.name.c_str(),
                flags.params.c_str());
    return 0;
  }
  const std::string device = flags.product + "/" + flags.name;
  if (action == "history") {
    onenet::provision::HistoryQuery query;
    query.identifier = flags.identifier;
    query.end_ms = flags.to_ms >= 0 ? flags.to_ms : static_cast<int64_t>(std::time(nullptr)) * 1000;
    query.start_ms =
        flags.from_ms >= 0 ? flags.from_ms : query.end_ms - int64_t(flags.hours) * 3600 * 1000;
    if (query.start_ms < 0) query.start_ms = 0;
    query.newest_first = flags.newest_first;
    query.offset = flags.offset;
    query.limit = flags.limit;
    std::vector<onenet::provision::PropertyRecord> records;
    uint64_t total = 0;
    if (client->query_property_history(flags.product, flags.name, query, &records, &total) !=
        Status::kOk)
      return refused(*client);
    if (flags.json_output) {
      json list = json::array();
      for (const auto& r : records)
        list.push_back({{"time", r.time_ms}, {"value", json::parse(r.value_json, nullptr, false)}});
      std::printf("%s\n", json{{"total", total}, {"list", list}}.dump().c_str());
      return 0;
    }
    for (const auto& r : records)
      std::printf("%s\t%s\n", utc_time(r.time_ms).c_str(), r.value_json.c_str());
    // On stderr, so that stdout stays the records alone (after them, when both go one way).
    std::fflush(stdout);
    if (flags.offset + records.size() < total) {
      std::fprintf(stderr, "(records %u to %zu of %llu: --offset %zu for more)\n", flags.offset + 1,
                   flags.offset + records.size(), static_cast<unsigned long long>(total),
                   flags.offset + records.size());
    }
    return 0;
  }
  if (action == "desired") {
    std::vector<onenet::provision::DesiredValue> values;
    if (client->query_desired_properties(flags.product, flags.name, flags.identifiers, &values) !=
        Status::kOk)
      return refused(*client);
    if (flags.json_output) {
      json list = json::array();
      for (const auto& v : values) {
        list.push_back({{"identifier", v.identifier},
                        {"value", json::parse(v.value_json, nullptr, false)},
                        {"version", v.version}});
      }
      std::printf("%s\n", list.dump().c_str());
    } else {
      for (const auto& v : values) {
        std::printf("%s\t%s\tversion %lld\n", v.identifier.c_str(), v.value_json.c_str(),
                    static_cast<long long>(v.version));
      }
    }
    return 0;
  }
  if (action == "set-desired") {
    if (client->set_desired_properties(flags.product, flags.name, flags.params) != Status::kOk)
      return refused(*client);
    std::printf("%s: desired %s (the device takes it when it asks)\n", device.c_str(),
                flags.params.c_str());
    return 0;
  }
  if (action == "delete-desired") {
    if (client->delete_desired_properties(flags.product, flags.name, flags.identifiers) !=
        Status::kOk)
      return refused(*client);
    std::string names;
    for (const std::string& id : flags.identifiers) names += (names.empty() ? "" : ", ") + id;
    std::printf("%s: no desired value for %s\n", device.c_str(), names.c_str());
    return 0;
  }
  // call: the service's output alone, so a script can read it: out=$(onenet-cli thing call ...).
  std::string output;
  if (client->call_service(flags.product, flags.name, flags.service, flags.params, &output) !=
      Status::kOk) {
    return refused(*client);
  }
  std::printf("%s\n", output.c_str());
  return 0;
}

}  // namespace

CLI::App* add_thing_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "thing",
      "The thing model from the cloud's side: read and set properties, call services, and keep "
      "desired values for the device");
  cmd->require_subcommand(1);
  const std::pair<const char*, const char*> actions[] = {
      {"properties", "Show the latest value of each property the device reported"},
      {"set", "Set properties on the device (--params '{\"interval\":5}'); waits for its reply"},
      {"call", "Call a service of the device (--service ID [--params JSON]); prints its output"},
      {"history",
       "Show the values the device reported of one property over a time range (--id PROP)"},
      {"desired", "Show the desired values the cloud holds for the device (--id PROP ...)"},
      {"set-desired",
       "Set desired values (--params '{\"interval\":30}'), which the device takes when it asks"},
      {"delete-desired", "Clear desired values (--id PROP ...), whatever their version"}};
  for (const auto& [action, help] : actions) {
    const std::string name = action;
    CLI::App* sub = cmd->add_subcommand(action, help);
    add_api_options(sub);
    sub->add_option("--name", flags.name, "Device name")->required();
    if (name == "properties" || name == "desired" || name == "history")
      sub->add_flag("--json", flags.json_output, "Print JSON");
    if (name == "history") {
      sub->add_option("--id", flags.identifier, "The property's identifier")->required();
      sub->add_option("--from", flags.from_ms, "From this time, ms since the epoch")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--to", flags.to_ms, "To this time, ms since the epoch (default: now)")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--hours", flags.hours, "Without --from: this many hours before --to")
          ->default_val(24);
      sub->add_flag("--newest-first", flags.newest_first, "Newest record first");
      sub->add_option("--offset", flags.offset, "Records of the range to skip")->default_val(0);
      sub->add_option("--limit", flags.limit, "Records to show, 1 to 100")
          ->default_val(100)
          ->check(CLI::Range(1, 100));
    }
    if (name == "set" || name == "set-desired")
      sub->add_option("--params", flags.params, "Properties and values, a JSON object")->required();
    if (name == "desired" || name == "delete-desired")
      sub->add_option("--id", flags.identifiers, "A property's identifier (repeat for more)")
          ->required();
    if (name == "call") {
      sub->add_option("--service", flags.service, "The service's identifier")->required();
      sub->add_option("--params", flags.params, "The service's input, a JSON object (default {})");
    }
    sub->callback([name] { thing_action = name; });
  }
  return cmd;
}

int run_thing_command() {
  return run_thing(thing_action);
}

namespace {

std::string datastream_action;

// --hex's digits as bytes; false for an odd count or a character that is not a hex digit.
bool hex_bytes(const std::string& hex, std::string* bytes) {
  if (hex.size() % 2 != 0) return false;
  bytes->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    for (const char c : {hex[i], hex[i + 1]}) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
      value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                                     ? c - '0'
                                                     : std::tolower(c) - 'a' + 10);
    }
    bytes->push_back(static_cast<char>(value));
  }
  return true;
}

// Data-stream products from the cloud's side: the points a device posted, a command to it.
int run_datastream(const std::string& action) {
  command_name = "datastream " + action;
  int exit_status = 0;
  if (action == "image") {
    if (flags.device_id.empty() == flags.name.empty())
      return say_error(kExitBadInput, "name the device with --name or with --device-id");
    if (flags.desired.empty() && flags.reported.empty())
      return say_error(kExitBadInput, "give --desired or --reported values (JSON objects)");
    auto client = make_client(&exit_status, onenet::provision::kLegacyApiUrl);
    if (!client) return exit_status;
    std::string did = flags.device_id;
    if (did.empty()) {
      // The name's device id comes from the current API (device/detail), on its own host.
      auto current = make_client(&exit_status);
      if (!current) return exit_status;
      DeviceInfo d;
      if (current->device_detail(flags.product, flags.name, &d) != Status::kOk)
        return api_failure(*current);
      did = d.did;
    }
    std::string image;
    if (client->update_device_image(did, flags.desired, flags.reported, &image) != Status::kOk)
      return refused(*client);
    const json parsed = onenet::model::parse_json(image);
    if (flags.json_output) {
      std::printf("%s\n", parsed.dump().c_str());
    } else {
      // update_device_image checked that the answer holds a state object.
      const json state = onenet::model::member_or(parsed, "state", json::object());
      std::printf("version   %s\ndesired   %s\nreported  %s\n",
                  onenet::model::member_or(parsed, "version", "?").dump().c_str(),
                  onenet::model::member_or(state, "desired", json::object()).dump().c_str(),
                  onenet::model::member_or(state, "reported", json::object()).dump().c_str());
    }
    return 0;
  }
  if (action == "command") {
    std::string command = flags.text;
    if (!flags.hex.empty() && !hex_bytes(flags.hex, &command))
      return say_error(kExitBadInput, "--hex: expected pairs of hex digits");
    if (flags.hex.empty() == flags.text.empty())
      return say_error(kExitBadInput, "give the command with --text or with --hex");
    auto client = make_client(&exit_status);
    if (!client) return exit_status;
    std::string response;
    if (client->send_command(flags.product, flags.name, command, flags.wait_s, &response) !=
        Status::kOk)
      return refused(*client);
    // The response's bytes as they came (a script may keep binary ones), and a newline after
    // them on a terminal.
    std::fwrite(response.data(), 1, response.size(), stdout);
    if (::isatty(STDOUT_FILENO) && (response.empty() || response.back() != '\n'))
      std::fputc('\n', stdout);
    return 0;
  }
  auto client = make_client(&exit_status);
  if (!client) return exit_status;
  onenet::provision::DatapointQuery query;
  query.streams = flags.identifiers;
  const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  if (flags.from_ms >= 0 || flags.since_hours > 0) {
    query.end_ms = flags.to_ms >= 0 ? flags.to_ms : now_ms;
    query.start_ms =
        flags.from_ms >= 0
            ? flags.from_ms
            : std::max<int64_t>(0, query.end_ms - int64_t(flags.since_hours) * 3600000);
  }
  query.newest_first = flags.newest_first;
  query.limit = flags.limit;
  std::vector<onenet::provision::DataStreamPoints> streams;
  if (client->query_datapoints(flags.product, flags.name, query, &streams) != Status::kOk)
    return refused(*client);
  if (flags.json_output) {
    json list = json::array();
    for (const auto& stream : streams) {
      json points = json::array();
      for (const auto& p : stream.points) {
        points.push_back(
            {{"time", p.time_ms}, {"value", json::parse(p.value_json, nullptr, false)}});
      }
      list.push_back({{"id", stream.id}, {"datapoints", points}});
    }
    std::printf("%s\n", list.dump().c_str());
    return 0;
  }
  for (const auto& stream : streams) {
    for (const auto& p : stream.points) {
      std::printf("%s\t%s\t%s\n", stream.id.c_str(), utc_time(p.time_ms).c_str(),
                  p.value_json.c_str());
    }
  }
  return 0;
}

}  // namespace

CLI::App* add_datastream_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "datastream", "Data-stream products from the cloud's side: read points, send commands");
  cmd->require_subcommand(1);
  CLI::App* points = cmd->add_subcommand(
      "points", "Show a device's data points: the newest of each stream, or a time range");
  CLI::App* command = cmd->add_subcommand(
      "command", "Send a device a command and print its response (the device must be online)");
  for (CLI::App* sub : {points, command}) {
    add_api_options(sub);
    sub->add_option("--name", flags.name, "Device name")->required();
  }
  points->add_option("--stream", flags.identifiers, "A stream's id (repeat for more; default all)");
  points->add_option("--from", flags.from_ms, "From this time, ms since the epoch")
      ->check(CLI::NonNegativeNumber);
  points->add_option("--hours", flags.since_hours, "Or: the last this many hours");
  points->add_option("--to", flags.to_ms, "To this time, ms since the epoch (default: now)")
      ->check(CLI::NonNegativeNumber);
  points->add_flag("--newest-first", flags.newest_first, "Newest point first");
  points->add_option("--limit", flags.limit, "Points to show in all, 1 to 6000 (with a range)")
      ->default_val(100)
      ->check(CLI::Range(1, 6000));
  points->add_flag("--json", flags.json_output, "Print JSON");
  command->add_option("--text", flags.text, "The command, as text");
  command->add_option("--hex", flags.hex, "The command's bytes, in hex");
  command->add_option("--wait", flags.wait_s, "Seconds to wait for the response, 1 to 60")
      ->default_val(10)
      ->check(CLI::Range(1, 60));
  CLI::App* image = cmd->add_subcommand(
      "image",
      "Change a device's image (desired or reported values) and print it (OneNET's "
      "legacy PUT /mqtt/v1/devices/{device_id}/image/properties)");
  add_api_options(image);
  image->add_option("--name", flags.name, "Device name (its device id is looked up)");
  image->add_option("--device-id", flags.device_id, "Or: the device id (did)");
  image->add_option("--desired", flags.desired, "Desired values, a JSON object");
  image->add_option("--reported", flags.reported, "Reported values, a JSON object");
  image->add_flag("--json", flags.json_output, "Print the image as JSON");
  image->callback([] { datastream_action = "image"; });
  points->callback([] { datastream_action = "points"; });
  command->callback([] { datastream_action = "command"; });
  return cmd;
}

int run_datastream_command() {
  return run_datastream(datastream_action);
}

CLI::App* add_device_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("device", "Create, show, list or delete devices (HTTP API)");
  cmd->require_subcommand(1);
  const std::pair<const char*, const char*> actions[] = {
      {"create", "Create a device; prints its key"},
      {"register",
       "A device registers itself with the product's key (--auth product; OneNET's legacy "
       "/mqtt/v1/devices/reg, data-stream products); prints its key"},
      {"detail", "Show one device"},
      {"list", "List every device of the product"},
      {"delete", "Delete a device"}};
  for (const auto& [action, help] : actions) {
    CLI::App* sub = cmd->add_subcommand(action, help);
    add_api_options(sub);
    if (std::string(action) != "list")
      sub->add_option("--name", flags.name, "Device name")->required();
    if (std::string(action) == "create" || std::string(action) == "register")
      sub->add_option("--desc", flags.desc, "Description");
    if (std::string(action) == "register")
      sub->add_option("--key", flags.own_key, "The device's own key (Base64, up to 32 bytes)");
    sub->add_flag("--json", flags.json_output, "Print JSON");
    sub->callback([name = std::string(action)] { device_action = name; });
  }
  return cmd;
}

int run_device_command() {
  return run_device(device_action);
}

CLI::App* add_provision_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "provision", "Create devices PREFIX1..PREFIXN (resumable) and write their keys to a file");
  add_api_options(cmd);
  cmd->add_option("--count", flags.count, "How many devices")
      ->required()
      ->transform(decimal())
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--prefix", flags.prefix, "Device name prefix")->required();
  cmd->add_option("--out", flags.out, "Output file (the gateway sample's --subdevices-file)")
      ->required();
  cmd->add_flag("--json", flags.json_output, "Write JSON (default: CSV, or JSON for *.json)");
  cmd->add_flag("--csv", flags.csv_output, "Write CSV: product_id,device_name,key");
  return cmd;
}

int run_provision_command() {
  return run_provision();
}

CLI::App* add_ota_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "ota", "OTA over HTTP (fuse-ota): report versions, check, download, report steps");
  cmd->require_subcommand(1);
  const std::pair<const char*, const char*> actions[] = {
      {"version", "Report the versions the device runs"},
      {"check", "Show the device's OTA task for --kind from --version"},
      {"download", "Download that task's package to --out (resumes a partial file; MD5 checked)"},
      {"step",
       "Report a step of task --tid: 0-100 download %, 101 downloaded, 102-107 "
       "download failed, 201 installed, 202-208 install failed"}};
  for (const auto& [action, help] : actions) {
    const std::string name = action;
    CLI::App* sub = cmd->add_subcommand(action, help);
    add_api_options(sub);
    sub->add_option("--name", flags.name, "Device name")->required();
    if (name == "version") {
      sub->add_option("--firmware", flags.firmware_version, "Firmware version (f_version)");
      sub->add_option("--software", flags.software_version, "Software version (s_version)");
    } else if (name == "step") {
      sub->add_option("--tid", flags.tid, "Task id (from check)")->required();
      sub->add_option("--step", flags.step, "Step code")->required()->transform(decimal());
    } else {
      sub->add_option("--kind", flags.kind, "firmware (FOTA, type 1) or software (SOTA, type 2)")
          ->check(CLI::IsMember({"firmware", "software"}))
          ->default_val("software");
      sub->add_option("--version", flags.version, "The version running now")->required();
      if (name == "check") sub->add_flag("--json", flags.json_output, "Print JSON");
      if (name == "download") {
        sub->add_option("--out", flags.out, "Package file")->required();
        sub->add_flag("--report", flags.report,
                      "Report the steps: progress 0-100 by tenths, 101 when downloaded, 104 "
                      "(timed out), 106 (the link), 107 or 205 (MD5) when it failed");
      }
    }
    sub->callback([name] { ota_action = name; });
  }
  return cmd;
}

int run_ota_command() {
  return run_ota(ota_action);
}

}  // namespace onenet_cli
