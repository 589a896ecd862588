#include "http_api.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <thread>
#include <type_traits>

#include "onenet/auth/encoding.hpp"
#include "onenet/auth/token.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/provision/api_client.hpp"
#include "platform.hpp"

namespace onenet_local {
namespace {

using nlohmann::json;
using onenet::model::Operation;

constexpr int kOk = 0;
constexpr int kAuthFailed = 10403;
constexpr int kBadRequest = 10400;
constexpr int kNoDevice = 10404;
constexpr int kDeviceExists = 10406;
constexpr int kDeviceOffline = 10408;
constexpr int kNoReply = 10410;
constexpr int kModelRefused = 10412;
constexpr int kDeviceError = 10413;
constexpr int kNoTask = 12012;  // fuse-ota's "not exist" (onenet-protocol.md section 5.5)
// A request body is a device or a query: bytes, not megabytes. A larger one is refused (HTTP
// 413) before it is read, rather than held in memory whole (httplib's default: no limit). Only
// /local/ota/task carries more: an OTA package in Base64.
constexpr size_t kMaxRequestBytes = 1024 * 1024;
constexpr size_t kMaxPackageRequestBytes = 12 * 1024 * 1024;
constexpr size_t kMaxPackageBytes = 8 * 1024 * 1024;

std::string request_id() {
  uint8_t raw[8];
  (void)onenet::platform::system_random(onenet::MutableByteView(raw, sizeof raw));
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (const uint8_t b : raw) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

void send(httplib::Response& res, int code, const std::string& msg, json data = nullptr) {
  json body = {{"code", code}, {"msg", msg}, {"request_id", request_id()}};
  if (!data.is_null()) body["data"] = std::move(data);
  res.set_content(onenet::model::to_text(body), "application/json");
}

// OneNET's legacy MQTTS API (api.heclouds.com/mqtt/v1/...) answers in an envelope of its own:
// {request_id, code, code_no, message, data}, code_no "000000" and code "onenet_common_success"
// on success, as a captured answer of /mqtt/v1/devices/reg shows them; its error table pairs
// each code_no with a name (onenet-protocol.md section 5.3, and the MQTTS API's error codes).
void send_legacy(httplib::Response& res, const char* code_no, const char* code,
                 const std::string& message, json data = nullptr) {
  json body = {{"request_id", request_id()},
               {"code", code},
               {"code_no", code_no},
               {"message", message.empty() ? json() : json(message)}};
  if (!data.is_null()) body["data"] = std::move(data);
  res.set_content(onenet::model::to_text(body), "application/json");
}

// Whom a token speaks for: the user (everything), a product, or one device.
struct Caller {
  std::string product;  // empty for the user
  std::string device;   // empty unless a device token
  bool may(const std::string& p, const std::string& d) const {
    return (product.empty() || product == p) && (device.empty() || device == d);
  }
};

bool authorize(Platform& platform, const httplib::Request& req, Caller* caller, std::string* why) {
  const std::string token = req.get_header_value("authorization");
  if (token.empty()) {
    *why = "missing authorization header";
    return false;
  }
  onenet::auth::ParsedToken parsed;
  onenet::Status s = onenet::auth::parse_token(token, &parsed);
  if (s != onenet::Status::kOk) {
    *why = onenet::to_string(s);
    return false;
  }
  const std::string res(parsed.resource_view());
  std::string key;
  auto guard = platform.lock();
  Registry& r = platform.registry();
  if (res == "userid/" + r.user_id()) {
    key = r.user_key();
  } else if (res.rfind("products/", 0) == 0) {
    const std::string rest = res.substr(9);
    const size_t slash = rest.find('/');
    caller->product = rest.substr(0, slash);
    if (slash == std::string::npos) {
      if (const Product* p = r.product(caller->product)) key = p->key;
    } else if (rest.compare(slash, 9, "/devices/") == 0) {
      caller->device = rest.substr(slash + 9);
      if (const Device* d = r.device(caller->product, caller->device)) key = d->key;
    }
  }
  if (key.empty()) {
    *why = "token res " + res + " names no account, product or device here";
    return false;
  }
  s = onenet::auth::verify_token(token, key, onenet::platform::unix_seconds(),
                                 onenet::platform::default_hmac());
  if (s != onenet::Status::kOk) {
    *why = onenet::to_string(s);
    return false;
  }
  return true;
}

// A query parameter that must be a whole number: 1 to 18 decimal digits, nothing else.
// `fallback` (when given) stands for a parameter that is absent.
std::optional<int64_t> decimal_param(const json& body, const char* key,
                                     std::optional<int64_t> fallback = std::nullopt) {
  if (fallback && !body.contains(key)) return fallback;
  const std::string text = onenet::model::string_member(body, key);
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoll(text);
}

json device_json(Platform& platform, const Device& d) {
  // status: 1 online, 0 offline, 2 never connected (section 5.1).
  int64_t last_time = 0;
  const int status = platform.presence(d.product_id, d.name, &last_time);
  return {{"did", d.did},
          {"pid", d.product_id},
          {"name", d.name},
          {"desc", d.desc},
          {"status", status},
          {"sec_key", d.key},
          {"create_time", d.created * 1000},
          {"last_time", last_time}};
}

}  // namespace

HttpApi::HttpApi(Platform& platform) : platform_(platform) {
  plain_.server = std::make_unique<httplib::Server>();
  add_routes(*plain_.server);
}

// Every route, on the plain and the TLS listener alike.
void HttpApi::add_routes(httplib::Server& s) {
  s.set_payload_max_length(kMaxPackageRequestBytes);
  // The other routes' limit, checked on the announced length before the body is read (a chunked
  // body, which announces none, is bounded by the package limit).
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/local/ota/task") return httplib::Server::HandlerResponse::Unhandled;
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > kMaxRequestBytes) {
      res.status = 413;
      send(res, kBadRequest, "request body over 1 MiB");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Every route: authorize, parse, act. `handler` gets the caller and the JSON body (or query).
  // A handler that also takes a std::string gets the body's bytes as they came (OneNET's
  // synccmds sends a command that way), and the query alone as its JSON.
  auto route = [this](auto&& handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      constexpr bool kRawBody =
          std::is_invocable_v<const std::decay_t<decltype(handler)>&, const Caller&, const json&,
                              const std::string&, httplib::Response&>;
      Caller caller;
      std::string why;
      if (!authorize(platform_, req, &caller, &why)) {
        platform_.log({{"event", "http"}, {"path", req.path}, {"code", kAuthFailed}, {"msg", why}});
        send(res, kAuthFailed, "authentication failed: " + why);
        return;
      }
      json body = json::object();
      if (req.method == "POST" && !kRawBody) {
        body = onenet::model::parse_json(req.body);
        if (body.is_discarded() || !body.is_object()) {
          send(res, kBadRequest, "body: expected a JSON object");
          return;
        }
      }
      for (const auto& [key, value] : req.params) body[key] = value;
      // fuse-ota names the device (and the task) in its path: /fuse-ota/{pid}/{dn}[/{tid}]/...
      if (req.matches.size() >= 3) {
        body["product_id"] = req.matches[1].str();
        body["device_name"] = req.matches[2].str();
      }
      if (req.matches.size() >= 4) body["tid"] = req.matches[3].str();
      const std::string product = onenet::model::string_member(body, "product_id");
      const std::string device = onenet::model::string_member(body, "device_name");
      if (!caller.may(product, device)) {
        send(res, kAuthFailed,
             "authentication failed: the token is not for this product or device");
        return;
      }
      if constexpr (kRawBody) {
        handler(caller, body, req.body, res);
      } else {
        handler(caller, body, res);
      }
      // (Platform::log hides the keys some answers carry.)
      platform_.log({{"event", "http"},
                     {"path", req.path},
                     {"product_id", product},
                     {"device_name", device},
                     {"response", res.get_header_value("Content-Type") == "application/json"
                                      ? onenet::model::parse_json(res.body)
                                      : json(std::to_string(res.body.size()) + " bytes")}});
    };
  };

  s.Post("/device/create", route([this](const Caller&, const json& body, httplib::Response& res) {
           const std::string product = onenet::model::string_member(body, "product_id");
           const std::string device = onenet::model::string_member(body, "device_name");
           if (!onenet::model::valid_name(product) || !onenet::model::valid_name(device)) {
             send(res, kBadRequest, "product_id and device_name: 1-64 letters, digits, '_' or '-'");
             return;
           }
           // OneNET limits the description to 100 characters (onenet-protocol.md section 5.1).
           const std::string desc = onenet::model::string_member(body, "desc");
           if (onenet::model::utf8_characters(desc) > 100) {
             send(res, kBadRequest, "desc: at most 100 characters");
             return;
           }
           auto guard = platform_.lock();
           const Device* d = platform_.registry().create_device(product, device, desc);
           if (d == nullptr) {
             send(res, kDeviceExists, "device already exists: " + product + "/" + device);
             return;
           }
           std::string error;
           if (!platform_.save_registry(&error)) {
             send(res, 10500, error);
             return;
           }
           send(res, kOk, "succ", device_json(platform_, *d));
         }));

  s.Get("/device/detail", route([this](const Caller&, const json& body, httplib::Response& res) {
          auto guard = platform_.lock();
          const Device* d =
              platform_.registry().device(onenet::model::string_member(body, "product_id"),
                                          onenet::model::string_member(body, "device_name"));
          if (d == nullptr) return send(res, kNoDevice, "device not found");
          send(res, kOk, "succ", device_json(platform_, *d));
        }));

  s.Get("/device/list", route([this](const Caller&, const json& body, httplib::Response& res) {
          const size_t offset =
              std::strtoul(onenet::model::string_member(body, "offset", "0").c_str(), nullptr, 10);
          size_t limit =
              std::strtoul(onenet::model::string_member(body, "limit", "10").c_str(), nullptr, 10);
          if (limit == 0 || limit > 100) limit = 100;
          auto guard = platform_.lock();
          const auto all =
              platform_.registry().devices(onenet::model::string_member(body, "product_id"));
          json list = json::array();
          for (size_t i = offset; i < all.size() && list.size() < limit; ++i)
            list.push_back(device_json(platform_, *all[i]));
          send(res, kOk, "succ",
               {{"total", all.size()}, {"offset", offset}, {"limit", limit}, {"list", list}});
        }));

  s.Post("/device/delete", route([this](const Caller&, const json& body, httplib::Response& res) {
           const std::string product = onenet::model::string_member(body, "product_id");
           const std::string device = onenet::model::string_member(body, "device_name");
           // A sub-device leaves its gateway's topology first: the gateway hears sub/topo/change
           // rather than go on logging in a device that is gone.
           (void)platform_.unbind_from_cloud(product, device);
           auto guard = platform_.lock();
           if (!platform_.registry().delete_device(product, device)) {
             return send(res, kNoDevice, "device not found");
           }
           std::string error;
           if (!platform_.save_registry(&error)) return send(res, 10500, error);
           send(res, kOk, "succ");
         }));

  // onenet-local's own (OneNET does this from its console): unbind a sub-device from the cloud
  // side, which sends its gateway sub/topo/change.
  s.Post("/local/sub-device/unbind",
         route([this](const Caller&, const json& body, httplib::Response& res) {
           if (!platform_.unbind_from_cloud(onenet::model::string_member(body, "product_id"),
                                            onenet::model::string_member(body, "device_name"))) {
             return send(res, kNoDevice, "not a sub-device of any gateway");
           }
           send(res, kOk, "succ");
         }));

  s.Get("/thingmodel/query-device-property",
        route([this](const Caller&, const json& body, httplib::Response& res) {
          const std::string product = onenet::model::string_member(body, "product_id");
          const std::string device = onenet::model::string_member(body, "device_name");
          auto guard = platform_.lock();
          if (platform_.registry().device(product, device) == nullptr)
            return send(res, kNoDevice, "device not found");
          json list = json::array();
          const onenet::model::ThingModel* model = platform_.thing_model(product);
          for (const auto& [id, v] : platform_.state(product, device).properties) {
            json item = {{"identifier", id}, {"value", v.value}, {"time", v.time}};
            if (model != nullptr) {
              if (const auto* p = model->property(id)) {
                item["name"] = p->name;
                item["data_type"] = onenet::model::to_string(p->type.type);
                item["access_mode"] = p->writable ? "rw" : "r";
              }
            }
            list.push_back(item);
          }
          send(res, kOk, "succ", list);
        }));

  // The values a device reported of one property over a time range (OneNET's "设备属性记录查询";
  // its shape as application code uses it: identifier, start_time and end_time in ms, sort 1
  // oldest first or 2 newest first, offset, limit at most 100; data {total, list: [{time,
  // value}]}). Values are given as reported; onenet-local keeps 1000 a property, in memory.
  s.Get("/thingmodel/query-device-property-history",
        route([this](const Caller&, const json& body, httplib::Response& res) {
          const std::string product = onenet::model::string_member(body, "product_id");
          const std::string device = onenet::model::string_member(body, "device_name");
          const std::string identifier = onenet::model::string_member(body, "identifier");
          const auto start = decimal_param(body, "start_time");
          const auto end = decimal_param(body, "end_time");
          const auto sort = decimal_param(body, "sort", 1);
          const auto offset = decimal_param(body, "offset", 0);
          const auto limit = decimal_param(body, "limit", 10);
          auto guard = platform_.lock();
          if (platform_.registry().device(product, device) == nullptr)
            return send(res, kNoDevice, "device not found");
          if (identifier.empty()) return send(res, kBadRequest, "identifier is required");
          if (!start || !end)
            return send(res, kBadRequest, "start_time and end_time: ms since the epoch");
          if (*start > *end) return send(res, kBadRequest, "start_time is after end_time");
          if (!sort || (*sort != 1 && *sort != 2))
            return send(res, kBadRequest, "sort: 1 (oldest first) or 2 (newest first)");
          if (!offset) return send(res, kBadRequest, "offset: a whole number");
          if (!limit || *limit < 1 || *limit > 100) return send(res, kBadRequest, "limit: 1..100");
          if (const auto* model = platform_.thing_model(product)) {
            if (model->property(identifier) == nullptr)
              return send(res, kModelRefused, "unknown property '" + identifier + "'");
          }
          json list = json::array();
          size_t total = 0;
          const DeviceState& state = platform_.state(product, device);
          const auto history = state.property_history.find(identifier);
          if (history != state.property_history.end()) {
            const auto first = history->second.lower_bound(*start);
            const auto last = history->second.upper_bound(*end);
            std::vector<std::pair<int64_t, json>> found(first, last);
            if (*sort == 2) std::reverse(found.begin(), found.end());
            total = found.size();
            for (size_t i = static_cast<size_t>(*offset);
                 i < found.size() && list.size() < static_cast<size_t>(*limit); ++i)
              list.push_back({{"time", found[i].first}, {"value", found[i].second}});
          }
          send(res, kOk, "succ", {{"total", total}, {"list", list}});
        }));

  s.Get("/thingmodel/query-device-event",
        route([this](const Caller&, const json& body, httplib::Response& res) {
          auto guard = platform_.lock();
          const std::string product = onenet::model::string_member(body, "product_id");
          const std::string device = onenet::model::string_member(body, "device_name");
          if (platform_.registry().device(product, device) == nullptr)
            return send(res, kNoDevice, "device not found");
          send(res, kOk, "succ", json(platform_.state(product, device).events));
        }));

  s.Post("/thingmodel/set-device-desired-property",
         route([this](const Caller&, const json& body, httplib::Response& res) {
           const std::string product = onenet::model::string_member(body, "product_id");
           const std::string device = onenet::model::string_member(body, "device_name");
           const json params = onenet::model::member_or(body, "params", json::object());
           auto guard = platform_.lock();
           if (platform_.registry().device(product, device) == nullptr)
             return send(res, kNoDevice, "device not found");
           if (!params.is_object() || params.empty())
             return send(res, kBadRequest, "params: expected an object");
           if (const auto* model = platform_.thing_model(product)) {
             const std::string problem = model->check_property_set(params);
             if (!problem.empty()) return send(res, kModelRefused, problem);
           }
           DeviceState& s = platform_.state(product, device);
           json versions = json::object();
           for (auto it = params.begin(); it != params.end(); ++it)
             versions[it.key()] = s.set_desired(it.key(), it.value());
           send(res, kOk, "succ", versions);
         }));

  // The application's view of desired values: OneNET lists query- and delete-device-desired-
  // property beside set; onenet-protocol.md gives neither shape. Community code queries with
  // params = a list of identifiers, and the answer here is property/desired/get's data
  // ({"prop": {"value", "version"}}, section 4.2). A delete takes that list (any version) or,
  // as the device's own delete, {"prop": {"version": n}}.
  const auto desired_identifiers = [this](const std::string& product, const json& params,
                                          bool versions_allowed, std::vector<std::string>* ids,
                                          int* code) -> std::string {
    *code = kBadRequest;
    if (params.is_array()) {
      for (const json& id : params) {
        if (!id.is_string()) return "params: identifiers must be strings";
        ids->push_back(id.get<std::string>());
      }
    } else if (versions_allowed && params.is_object()) {
      for (auto it = params.begin(); it != params.end(); ++it) ids->push_back(it.key());
    } else {
      return versions_allowed ? "params: expected a list of property identifiers, or an object "
                                "of {\"version\": n}"
                              : "params: expected a list of property identifiers";
    }
    if (ids->empty()) return "params: no property named";
    *code = kModelRefused;
    if (const auto* model = platform_.thing_model(product)) {
      for (const std::string& id : *ids) {
        if (model->property(id) == nullptr) return "unknown property '" + id + "'";
      }
    }
    return {};
  };

  s.Post(
      "/thingmodel/query-device-desired-property",
      route([this, desired_identifiers](const Caller&, const json& body, httplib::Response& res) {
        const std::string product = onenet::model::string_member(body, "product_id");
        const std::string device = onenet::model::string_member(body, "device_name");
        auto guard = platform_.lock();
        if (platform_.registry().device(product, device) == nullptr)
          return send(res, kNoDevice, "device not found");
        std::vector<std::string> ids;
        int code = 0;
        const std::string problem = desired_identifiers(
            product, onenet::model::member_or(body, "params", json()), false, &ids, &code);
        if (!problem.empty()) return send(res, code, problem);
        send(res, kOk, "succ", platform_.state(product, device).desired_of(ids));
      }));

  s.Post(
      "/thingmodel/delete-device-desired-property",
      route([this, desired_identifiers](const Caller&, const json& body, httplib::Response& res) {
        const std::string product = onenet::model::string_member(body, "product_id");
        const std::string device = onenet::model::string_member(body, "device_name");
        const json params = onenet::model::member_or(body, "params", json());
        auto guard = platform_.lock();
        if (platform_.registry().device(product, device) == nullptr)
          return send(res, kNoDevice, "device not found");
        std::vector<std::string> ids;
        int code = 0;
        const std::string problem = desired_identifiers(product, params, true, &ids, &code);
        if (!problem.empty()) return send(res, code, problem);
        DeviceState& s = platform_.state(product, device);
        for (const std::string& id : ids) {
          const json* version = nullptr;
          if (params.is_object()) {  // {"prop": {"version": n}}: only that version goes
            const json& entry = *params.find(id);
            const auto v = entry.is_object() ? entry.find("version") : entry.end();
            if (entry.is_object() && v != entry.end()) version = &*v;
          }
          s.delete_desired(id, version);
        }
        send(res, kOk, "succ");
      }));

  // Commands that travel to the device and wait for its _reply.
  auto device_command = [this](Operation op, bool with_identifier) {
    return [this, op, with_identifier](const Caller&, const json& body, httplib::Response& res) {
      const std::string product = onenet::model::string_member(body, "product_id");
      const std::string device = onenet::model::string_member(body, "device_name");
      const std::string identifier = onenet::model::string_member(body, "identifier");
      const json params = onenet::model::member_or(
          body, "params", op == Operation::kPropertyGet ? json::array() : json::object());
      {
        auto guard = platform_.lock();
        if (platform_.registry().device(product, device) == nullptr)
          return send(res, kNoDevice, "device not found");
        if (with_identifier && identifier.empty())
          return send(res, kBadRequest, "identifier is required");
        if (const auto* model = platform_.thing_model(product)) {
          const std::string problem =
              op == Operation::kPropertySet   ? model->check_property_set(params)
              : op == Operation::kPropertyGet ? model->check_property_get(params)
                                              : model->check_service_input(identifier, params);
          if (!problem.empty()) return send(res, kModelRefused, problem);
        }
        if (platform_.presence(product, device) != 1)
          return send(res, kDeviceOffline, "device is offline");
      }
      const CommandResult result = platform_.command(product, device, op, params, identifier);
      if (result.outcome == CommandResult::kNotConnected)
        return send(res, 10500, "onenet-local lost its broker link");
      if (result.outcome == CommandResult::kTimeout)
        return send(res, kNoReply, "the device did not reply within 5 s");
      const json& reply = result.reply;
      const int code = onenet::model::integer_member(reply, "code", 0);
      if (code != 200)
        return send(res, kDeviceError, onenet::model::string_member(reply, "msg", "device error"),
                    {{"code", code}});
      // (A sub-device's wrapped service output was unwrapped by Platform::command.)
      send(res, kOk, onenet::model::string_member(reply, "msg", "succ"),
           onenet::model::member_or(reply, "data", json()));
    };
  };
  s.Post("/thingmodel/set-device-property", route(device_command(Operation::kPropertySet, false)));
  s.Post("/thingmodel/query-device-property-live",
         route(device_command(Operation::kPropertyGet, false)));
  s.Post("/thingmodel/call-service", route(device_command(Operation::kServiceInvoke, true)));

  // ---- Data-stream products (onenet-protocol.md section 4.6) ----
  // OneNET's application API for them is not in onenet-protocol.md: the names and requests of
  // synccmds and history-datapoints are those application code uses, and history-datapoints'
  // answer is one captured from OneNET and published with such code. Commands keep the MQTT
  // suite's semantics: the device must be online, and the call returns when it responds or the
  // wait ends. A command is 1 byte to 20 KB (the documented downlink limit); timeout: seconds,
  // 1 to 60, default 10. Answer: data {cmd_uuid, cmd_resp (the response, Base64)}, the names of
  // OneNET's older command API (its shape here is onenet-local's choice).
  // With the lock held: whether `device` exists on a data-stream product; else the refusal is
  // sent and it is false.
  const auto is_stream_device = [this](const std::string& product, const std::string& device,
                                       httplib::Response& res) {
    if (platform_.registry().device(product, device) == nullptr) {
      send(res, kNoDevice, "device not found");
      return false;
    }
    if (!platform_.registry().product(product)->data_stream) {
      send(res, kBadRequest, "product " + product + " speaks OneJSON: use /thingmodel/ calls");
      return false;
    }
    return true;
  };
  // One command to an online data-stream device, answered: what both command routes share.
  const auto answer_stream_command = [this, is_stream_device](
                                         const std::string& product, const std::string& device,
                                         const std::string& command, int64_t timeout_s,
                                         httplib::Response& res) {
    if (command.empty()) return send(res, kBadRequest, "an empty command");
    if (command.size() > 20 * 1024) return send(res, kBadRequest, "command above 20 KB");
    if (timeout_s < 1 || timeout_s > 60) return send(res, kBadRequest, "timeout: 1 to 60 seconds");
    {
      auto guard = platform_.lock();
      if (!is_stream_device(product, device, res)) return;
      if (platform_.presence(product, device) != 1)
        return send(res, kDeviceOffline, "device is offline");
    }
    const StreamCommandResult result =
        platform_.stream_command(product, device, command, std::chrono::seconds(timeout_s));
    if (result.outcome == StreamCommandResult::kNotConnected)
      return send(res, 10500, "onenet-local lost its broker link");
    if (result.outcome == StreamCommandResult::kTimeout)
      return send(res, kNoReply,
                  "the device did not respond within " + std::to_string(timeout_s) + " s",
                  {{"cmd_uuid", result.command_id}});
    std::string coded(onenet::auth::base64_encoded_length(result.response.size()) + 1, '\0');
    const auto n = onenet::auth::base64_encode(
        onenet::ByteView(reinterpret_cast<const uint8_t*>(result.response.data()),
                         result.response.size()),
        coded.data(), coded.size());
    coded.resize(n.ok() ? n.value() : 0);
    send(res, kOk, "succ", {{"cmd_uuid", result.command_id}, {"cmd_resp", coded}});
  };
  // A timeout from the query (text) or a JSON body (a number); `fallback` when absent, 0 (then
  // refused) when unreadable.
  const auto timeout_of = [](const json& body, int64_t fallback) -> int64_t {
    const json* t = onenet::model::member(body, "timeout");
    if (t == nullptr) return fallback;
    if (t->is_number_integer()) return t->get<int64_t>();
    return t->is_string() ? std::strtoll(t->get_ref<const std::string&>().c_str(), nullptr, 10) : 0;
  };

  // OneNET's synccmds: product_id, device_name and timeout in the query, the command's bytes as
  // the body (community code sends JSON, text or binary alike). Answer as below.
  s.Post("/datapoint/synccmds", route([answer_stream_command, timeout_of](
                                          const Caller&, const json& query,
                                          const std::string& command, httplib::Response& res) {
           answer_stream_command(onenet::model::string_member(query, "product_id"),
                                 onenet::model::string_member(query, "device_name"), command,
                                 timeout_of(query, 10), res);
         }));

  // The same with a JSON body: command (text) or command_base64 (any bytes).
  s.Post("/local/datastream/command",
         route([answer_stream_command, timeout_of](const Caller&, const json& body,
                                                   httplib::Response& res) {
           std::string command;
           if (const json* text = onenet::model::member(body, "command");
               text && text->is_string()) {
             command = text->get<std::string>();
           } else if (const json* coded = onenet::model::member(body, "command_base64");
                      coded && coded->is_string()) {
             const std::string& base64 = coded->get_ref<const std::string&>();
             command.resize(onenet::auth::base64_decoded_max_length(base64.size()));
             const auto n = onenet::auth::base64_decode(
                 base64, reinterpret_cast<uint8_t*>(command.data()), command.size());
             if (!n) return send(res, kBadRequest, "command_base64: not Base64");
             command.resize(n.value());
           } else {
             return send(res, kBadRequest, "command or command_base64 is required");
           }
           answer_stream_command(onenet::model::string_member(body, "product_id"),
                                 onenet::model::string_member(body, "device_name"), command,
                                 timeout_of(body, 10), res);
         }));

  // A data-stream device's points, each stream oldest first (at most 1000 kept per stream):
  // data {datastreams: [{id, datapoints: [{at (Unix seconds), value}]}]}.
  s.Get("/local/datastream/points",
        route([this](const Caller&, const json& body, httplib::Response& res) {
          const std::string product = onenet::model::string_member(body, "product_id");
          const std::string device = onenet::model::string_member(body, "device_name");
          auto guard = platform_.lock();
          if (platform_.registry().device(product, device) == nullptr)
            return send(res, kNoDevice, "device not found");
          json streams = json::array();
          for (const auto& [id, points] : platform_.state(product, device).streams) {
            json list = json::array();
            for (const DeviceState::DataPoint& p : points)
              list.push_back({{"at", p.time}, {"value", p.value}});
            streams.push_back({{"id", id}, {"datapoints", list}});
          }
          send(res, kOk, "succ", {{"datastreams", streams}});
        }));

  // The device image of a data-stream device (section 3). GET is onenet-local's own (OneNET's
  // query is only a draft): data = the image as image/get/accepted sends it (10404 when the
  // device has none yet).
  s.Get("/local/image",
        route([this, is_stream_device](const Caller&, const json& query, httplib::Response& res) {
          const std::string product = onenet::model::string_member(query, "product_id");
          const std::string device = onenet::model::string_member(query, "device_name");
          auto guard = platform_.lock();
          if (!is_stream_device(product, device, res)) return;
          const DeviceState::Image& image = platform_.state(product, device).image;
          if (!image.exists) return send(res, kNoDevice, "the device has no image yet");
          send(res, kOk, "succ", image_document(image));
        }));
  // The legacy routes' authorization: as route()'s, its refusal in the legacy envelope.
  const auto authorize_legacy = [this](const httplib::Request& req, httplib::Response& res,
                                       Caller* caller) {
    std::string why;
    if (authorize(platform_, req, caller, &why)) return true;
    platform_.log({{"event", "http"}, {"path", req.path}, {"msg", why}});
    send_legacy(res, "000002", "onenet_common_authFailed", why);
    return false;
  };
  // OneNET's legacy MQTTS API: POST /mqtt/v1/devices/reg (section 5.3), a device registering
  // itself with its product's token: {"name", "desc"?, "key"?} (a key of one's own is Base64 of
  // at most 32 bytes). A name the product has answers with that device. data = {device_id,
  // name, pid, key}, as a captured answer of OneNET's has it (pid a number when it is one).
  s.Post("/mqtt/v1/devices/reg",
         [this, authorize_legacy](const httplib::Request& req, httplib::Response& res) {
           Caller caller;
           if (!authorize_legacy(req, res, &caller)) return;
           if (caller.product.empty() || !caller.device.empty())
             return send_legacy(res, "000007", "onenet_common_invalidParam",
                                "a product's token (res products/{pid}) names the product");
           const json body = onenet::model::parse_json(req.body);
           if (!body.is_object())
             return send_legacy(res, "000008", "onenet_common_invalidJson", "body: a JSON object");
           const std::string name = onenet::model::string_member(body, "name");
           if (!onenet::model::valid_name(name))
             return send_legacy(res, "000007", "onenet_common_invalidParam",
                                "name: 1-64 letters, digits, '_' or '-'");
           const std::string desc = onenet::model::string_member(body, "desc");
           const std::string key = onenet::model::string_member(body, "key");
           if (!key.empty()) {
             uint8_t raw[64];
             const auto n = onenet::auth::base64_decode(key, raw, sizeof raw);
             if (!n || n.value() == 0 || n.value() > 32)
               return send_legacy(res, "000007", "onenet_common_invalidParam",
                                  "key: Base64 of 1 to 32 bytes");
           }
           auto guard = platform_.lock();
           Registry& registry = platform_.registry();
           if (registry.product(caller.product) == nullptr)
             return send_legacy(res, "001000", "onenet_auth_prodNotFound", "product not found");
           const Device* d = registry.device(caller.product, name);
           const bool created = d == nullptr;
           if (created) d = registry.create_device(caller.product, name, desc, key);
           std::string error;
           if (created && !platform_.save_registry(&error))
             return send_legacy(res, "000020", "onenet_common_internalServerError", error);
           const bool numeric = caller.product.size() <= 18 &&
                                caller.product.find_first_not_of("0123456789") == std::string::npos;
           platform_.log({{"event", "http"},
                          {"path", req.path},
                          {"product_id", caller.product},
                          {"device_name", name},
                          {"created", created}});
           send_legacy(res, "000000", "onenet_common_success", "",
                       {{"device_id", std::to_string(d->did)},
                        {"name", d->name},
                        {"pid", numeric ? json(std::stoll(caller.product)) : json(caller.product)},
                        {"key", d->key}});
         });

  // OneNET's legacy MQTTS API: PUT /mqtt/v1/devices/{device_id}/image/properties with
  // {"state": {"desired"?, "reported"?}} and nothing else, merged as image/update is (a null value
  // removes its key); the device gets image/update/delta when desired and reported then differ.
  // data = the image. Answers in the legacy envelope (send_legacy), with the image errors' own
  // code_no (002001-002005).
  s.Put(R"(/mqtt/v1/devices/(\d{1,18})/image/properties)",
        [this, authorize_legacy](const httplib::Request& req, httplib::Response& res) {
          Caller caller;
          if (!authorize_legacy(req, res, &caller)) return;
          std::string product;
          std::string device;
          {
            auto guard = platform_.lock();
            const Device* d = platform_.registry().device_by_did(std::stoll(req.matches[1].str()));
            if (d == nullptr || !caller.may(d->product_id, d->name))
              return send_legacy(res, "001001", "onenet_auth_devNotFound", "device not found");
            product = d->product_id;
            device = d->name;
            if (!platform_.registry().product(product)->data_stream)
              return send_legacy(res, "000007", "onenet_common_invalidParam",
                                 "product " + product + " speaks OneJSON: it has no device image");
          }
          const json request = onenet::model::parse_json(req.body);
          if (request.is_object() && (request.size() != 1 || !request.contains("state")))
            return send_legacy(res, "000007", "onenet_common_invalidParam",
                               "the body carries state and nothing else");
          json document;
          std::string message;
          const int code =
              platform_.update_image_from_cloud(product, device, request, &document, &message);
          platform_.log({{"event", "http"},
                         {"path", req.path},
                         {"product_id", product},
                         {"device_name", device},
                         {"image_code", code}});
          switch (code) {
            case 0:
              return send_legacy(res, "000000", "onenet_common_success", "", document);
            case 160:
              return send_legacy(res, "002001", "onenet_image_illegalJson", message);
            case 161:
              return send_legacy(res, "002002", "onenet_image_jsonOutOfBound", message);
            case 162:
              return send_legacy(res, "002003", "onenet_image_jsonOutOfDepth", message);
            case 163:
              return send_legacy(res, "002004", "onenet_image_noStateKey", message);
            case 164:
              return send_legacy(res, "002005", "onenet_image_noDesiredOrReportedKey", message);
            default:
              return send_legacy(res, "000007", "onenet_common_invalidParam", message);
          }
        });

  // OneNET's history-datapoints: datastream_id (ids, comma-separated; absent: every stream),
  // start and end ("YYYY-MM-DDTHH:MM:SS", China Standard Time as the answer's `at`; end
  // defaults to now), limit (points in all, 1 to 6000, default 100), sort (ASC, the default, or
  // DESC). Without start, the newest point of each stream. Answer: data {count, datastreams:
  // [{id, datapoints: [{at, at_timestamp (ms), value}]}]}, streams without a point left out.
  s.Get("/datapoint/history-datapoints",
        route([this, is_stream_device](const Caller&, const json& query, httplib::Response& res) {
          const std::string product = onenet::model::string_member(query, "product_id");
          const std::string device = onenet::model::string_member(query, "device_name");
          std::vector<std::string> wanted;
          if (query.contains("datastream_id")) {
            const std::string ids = onenet::model::string_member(query, "datastream_id");
            for (size_t at = 0;;) {
              const size_t comma = ids.find(',', at);
              wanted.push_back(ids.substr(at, comma == std::string::npos ? comma : comma - at));
              if (wanted.back().empty())
                return send(res, kBadRequest, "datastream_id: an empty id");
              if (comma == std::string::npos) break;
              at = comma + 1;
            }
          }
          const bool ranged = query.contains("start");
          int64_t start_ms = 0;
          int64_t end_ms = onenet::platform::unix_seconds() * 1000 + 999;
          const char* kTimeForm = ": YYYY-MM-DDTHH:MM:SS, China Standard Time";
          if (ranged && !onenet::provision::parse_china_time(
                            onenet::model::string_member(query, "start"), &start_ms))
            return send(res, kBadRequest, std::string("start") + kTimeForm);
          if (query.contains("end") && !onenet::provision::parse_china_time(
                                           onenet::model::string_member(query, "end"), &end_ms))
            return send(res, kBadRequest, std::string("end") + kTimeForm);
          if (start_ms > end_ms) return send(res, kBadRequest, "start is after end");
          const auto limit = decimal_param(query, "limit", 100);
          if (!limit || *limit < 1 || *limit > 6000)
            return send(res, kBadRequest, "limit: 1..6000");
          const std::string sort = onenet::model::string_member(query, "sort", "ASC");
          if (sort != "ASC" && sort != "DESC") return send(res, kBadRequest, "sort: ASC or DESC");

          auto guard = platform_.lock();
          if (!is_stream_device(product, device, res)) return;
          json streams = json::array();
          int64_t count = 0;
          for (const auto& [id, kept] : platform_.state(product, device).streams) {
            if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end())
              continue;
            std::vector<DeviceState::DataPoint> points;
            for (const DeviceState::DataPoint& p : kept) {
              if (!ranged || (p.time * 1000 >= start_ms && p.time * 1000 <= end_ms))
                points.push_back(p);
            }
            std::stable_sort(points.begin(), points.end(),
                             [](const auto& a, const auto& b) { return a.time < b.time; });
            if (!ranged && !points.empty()) points.erase(points.begin(), points.end() - 1);
            if (sort == "DESC") std::reverse(points.begin(), points.end());
            json list = json::array();
            for (const DeviceState::DataPoint& p : points) {
              if (ranged && count >= *limit) break;
              list.push_back({{"at", onenet::provision::china_time_text(p.time * 1000, true)},
                              {"at_timestamp", p.time * 1000},
                              {"value", p.value}});
              ++count;
            }
            if (!list.empty()) streams.push_back({{"id", id}, {"datapoints", list}});
          }
          send(res, kOk, "succ", {{"count", count}, {"datastreams", streams}});
        }));

  // ---- OTA (fuse-ota, onenet-protocol.md section 5.5) ----
  // onenet-local's own (OneNET does this from its console): upload a package and make a task
  // for one device. Body: product_id, device_name, type (1 firmware, 2 software), target (the
  // version it installs), package (Base64, at most 8 MiB). An online device hears ota/inform.
  s.Post("/local/ota/task",
         route([this](const Caller& caller, const json& body, httplib::Response& res) {
           // The console's job: a device does not make its own updates.
           if (!caller.device.empty())
             return send(res, kAuthFailed,
                         "authentication failed: a device token cannot make OTA tasks");
           const std::string product = onenet::model::string_member(body, "product_id");
           const std::string device = onenet::model::string_member(body, "device_name");
           const int64_t kind = onenet::model::integer_member(body, "type", 0);
           const std::string target = onenet::model::string_member(body, "target");
           const std::string encoded = onenet::model::string_member(body, "package");
           if (kind != 1 && kind != 2) return send(res, kBadRequest, "type: 1 or 2");
           if (!onenet::provision::valid_ota_version(target))
             return send(res, kBadRequest, "target: 1-20 letters, digits, '_', '.' or '-'");
           std::string package(onenet::auth::base64_decoded_max_length(encoded.size()), '\0');
           const auto decoded = onenet::auth::base64_decode(
               encoded, reinterpret_cast<uint8_t*>(package.data()), package.size());
           if (!decoded || decoded.value() == 0)
             return send(res, kBadRequest, "package: a non-empty Base64 string");
           package.resize(decoded.value());
           if (package.size() > kMaxPackageBytes)
             return send(res, kBadRequest, "package: at most 8 MiB");
           // Optional: an MD5 announced in place of the package's own, so that a device's
           // handling of a package damaged on its way (step 205) can be tried out.
           std::string md5 = onenet::model::string_member(body, "md5");
           for (char& c : md5) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
           if (body.contains("md5") &&
               (md5.size() != 32 || md5.find_first_not_of("0123456789abcdef") != std::string::npos))
             return send(res, kBadRequest, "md5: 32 hex digits");
           OtaTask task;
           task.product_id = product;
           task.device_name = device;
           task.kind = static_cast<int>(kind);
           task.target = target;
           task.md5 = md5.empty() ? onenet::provision::md5_hex(package) : md5;
           const json answer = {{"size", package.size()}, {"md5", task.md5}};
           task.package = std::move(package);
           int64_t tid = 0;
           {
             auto guard = platform_.lock();
             if (platform_.registry().device(product, device) == nullptr)
               return send(res, kNoDevice, "device not found");
             tid = platform_.add_ota_task(std::move(task));  // the package is not copied
           }
           platform_.inform_ota(tid);
           json data = answer;
           data["tid"] = tid;
           send(res, kOk, "succ", data);
         }));

  s.Post(R"(/fuse-ota/([^/]+)/([^/]+)/version)",
         route([this](const Caller&, const json& body, httplib::Response& res) {
           const std::string product = onenet::model::string_member(body, "product_id");
           const std::string device = onenet::model::string_member(body, "device_name");
           const json firmware = onenet::model::member_or(body, "f_version", json());
           const json software = onenet::model::member_or(body, "s_version", json());
           if (firmware.is_null() && software.is_null())
             return send(res, kBadRequest, "f_version or s_version is required");
           for (const json* version : {&firmware, &software}) {
             if (!version->is_null() &&
                 (!version->is_string() || !onenet::provision::valid_ota_version(*version)))
               return send(res, kBadRequest,
                           "f_version, s_version: 1-20 letters, digits, '_', '.' or '-'");
           }
           auto guard = platform_.lock();
           if (platform_.registry().device(product, device) == nullptr)
             return send(res, kNoDevice, "device not found");
           DeviceState& state = platform_.state(product, device);
           if (firmware.is_string()) state.firmware_version = firmware.get<std::string>();
           if (software.is_string()) state.software_version = software.get<std::string>();
           send(res, kOk, "succ");
         }));

  s.Get(R"(/fuse-ota/([^/]+)/([^/]+)/check)",
        route([this](const Caller&, const json& body, httplib::Response& res) {
          const std::string product = onenet::model::string_member(body, "product_id");
          const std::string device = onenet::model::string_member(body, "device_name");
          const std::string type = onenet::model::string_member(body, "type");
          const std::string version = onenet::model::string_member(body, "version");
          if (type != "1" && type != "2") return send(res, kBadRequest, "type: 1 or 2");
          if (!onenet::provision::valid_ota_version(version))
            return send(res, kBadRequest, "version: 1-20 letters, digits, '_', '.' or '-'");
          auto guard = platform_.lock();
          if (platform_.registry().device(product, device) == nullptr)
            return send(res, kNoDevice, "device not found");
          int64_t tid = 0;
          const OtaTask* task = platform_.ota_task_for(product, device, type[0] - '0', &tid);
          // A device already running the target has nothing to do.
          if (task == nullptr || task->target == version) return send(res, kNoTask, "not exist");
          send(res, kOk, "succ",
               {{"target", task->target},
                {"tid", tid},
                {"size", task->package.size()},
                {"md5", task->md5},
                {"status", task->status},
                {"type", 1}});
        }));

  // The task of this device, unfinished, or null (and the answer sent).
  auto open_task = [this](const json& body, httplib::Response& res) -> OtaTask* {
    const std::string tid = onenet::model::string_member(body, "tid");
    OtaTask* task = platform_.ota_task(std::strtoll(tid.c_str(), nullptr, 10));
    if (task == nullptr || task->finished ||
        task->product_id != onenet::model::string_member(body, "product_id") ||
        task->device_name != onenet::model::string_member(body, "device_name")) {
      send(res, kNoTask, "not exist");
      return nullptr;
    }
    return task;
  };

  s.Get(R"(/fuse-ota/([^/]+)/([^/]+)/(\d{1,18})/check)",
        route([this, open_task](const Caller&, const json& body, httplib::Response& res) {
          auto guard = platform_.lock();
          if (const OtaTask* task = open_task(body, res))
            send(res, kOk, "succ", {{"status", task->status}});
        }));

  // The package, whole or the Range asked for (httplib answers 206 or 416 itself).
  s.Get(R"(/fuse-ota/([^/]+)/([^/]+)/(\d{1,18})/download)",
        route([this, open_task](const Caller&, const json& body, httplib::Response& res) {
          auto guard = platform_.lock();
          OtaTask* task = open_task(body, res);
          if (task == nullptr) return;
          if (task->status == 1) task->status = 2;
          res.set_content(task->package, "application/octet-stream");
        }));

  s.Post(R"(/fuse-ota/([^/]+)/([^/]+)/(\d{1,18})/status)",
         route([this, open_task](const Caller&, const json& body, httplib::Response& res) {
           const json step_value = onenet::model::member_or(body, "step", json());
           const int64_t step = step_value.is_number_integer() ? step_value.get<int64_t>() : -1;
           const bool known = (step >= 0 && step <= 107) || (step >= 201 && step <= 208);
           if (!known) return send(res, kBadRequest, "step: 0-100, 101-107 or 201-208");
           auto guard = platform_.lock();
           OtaTask* task = open_task(body, res);
           if (task == nullptr) return;
           task->last_step = static_cast<int>(step);
           if (step <= 100) {
             task->status = 2;  // downloading
           } else if (step == 101) {
             task->status = 3;  // downloaded: upgrading
           } else {
             // 102-107 download failed, 202-208 install failed, 201 installed: the task ends;
             // on success the device runs the target (the platform sets its version).
             Platform::finish_ota_task(*task);
             if (step == 201) {
               DeviceState& state = platform_.state(task->product_id, task->device_name);
               (task->kind == 1 ? state.firmware_version : state.software_version) = task->target;
             }
           }
           platform_.log({{"event", "ota_step"},
                          {"product_id", task->product_id},
                          {"device_name", task->device_name},
                          {"tid", onenet::model::string_member(body, "tid")},
                          {"step", step}});
           send(res, kOk, "succ");
         }));

  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      send(res, kBadRequest, "no such endpoint (HTTP " + std::to_string(res.status) + ")");
  });
}

HttpApi::~HttpApi() {
  stop();
}

int HttpApi::bind(uint16_t port) {
  if (port == 0) return plain_.server->bind_to_any_port("127.0.0.1");
  return plain_.server->bind_to_port("127.0.0.1", port) ? port : -1;
}

int HttpApi::bind_tls(uint16_t port, const std::string& cert_file, const std::string& key_file) {
#if defined(CPPHTTPLIB_OPENSSL_SUPPORT)
  auto server = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
  if (!server->is_valid()) return -1;  // the certificate or key cannot be loaded
  add_routes(*server);
  const int bound = port == 0 ? server->bind_to_any_port("127.0.0.1")
                              : (server->bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound >= 0) tls_.server = std::move(server);
  return bound;
#else
  (void)port;
  (void)cert_file;
  (void)key_file;
  return -1;
#endif
}

void HttpApi::start() {
  for (Listener* l : {&plain_, &tls_}) {
    if (!l->server) continue;
    l->returned = false;
    l->thread = std::make_unique<std::thread>([l] {
      l->server->listen_after_bind();
      l->returned = true;
    });
    // httplib's stop() does nothing until the listen loop has begun (is_running()): a SIGTERM
    // right after start-up was lost, and stop() then waited forever on accept(). So start()
    // returns only once the server runs (or its listen loop has already given up).
    while (!l->server->is_running() && !l->returned) std::this_thread::yield();
  }
}

void HttpApi::stop() {
  for (Listener* l : {&plain_, &tls_}) {
    if (!l->thread) continue;
    l->server->stop();
    l->thread->join();
    l->thread.reset();
  }
}

}  // namespace onenet_local
