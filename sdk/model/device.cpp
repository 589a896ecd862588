#include "onenet/model/device.hpp"

#include <algorithm>
#include <cctype>

#include "onenet/model/json_access.hpp"

namespace onenet::model {
namespace {

using nlohmann::json;

constexpr int kCodeOk = 200;
constexpr int kCodeBadRequest = 400;
constexpr int kCodeDeviceFailure = 100;  // what the official SDKs answer when they cannot comply
// A command response must be shorter than 1 KB (section 4.6).
constexpr size_t kMaxCommandResponseBytes = 1023;
// Data-point times are Unix seconds (section 4.6); a time after 2100 is almost surely in
// milliseconds, as OneJSON's are, and would be stored 1000 times too far ahead.
constexpr int64_t kLatestPointSeconds = 4102444800;  // 2100-01-01T00:00:00Z

std::string make(const std::string& product, const std::string& device, Operation op, bool reply,
                 const std::string& service = {}) {
  char out[512];
  const Result<size_t> n = make_topic(out, sizeof out, product, device, op, reply, service);
  return n.ok() ? std::string(out, n.value()) : std::string();
}

// A data-stream refusal, {"err_code", "err_msg"} (section 4.6), into `*out`; false (and `*out`
// left a default Reply) when it has no integer code that fits an int.
bool read_refusal(const json& body, Reply* out) {
  const int64_t code = body.is_object() ? integer_member(body, "err_code", INT64_MIN) : INT64_MIN;
  if (code < INT32_MIN || code > INT32_MAX) return false;
  *out = Reply{static_cast<int>(code), string_member(body, "err_msg"), {}};
  return true;
}

}  // namespace

std::string request_id(const json& request) {
  const auto it = request.find("id");
  if (it == request.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

std::string salvage_request_id(const std::string& text) {
  const size_t key = text.find("\"id\"");
  if (key == std::string::npos) return {};
  size_t at = text.find(':', key + 4);
  if (at == std::string::npos) return {};
  ++at;
  while (at < text.size() && (text[at] == ' ' || text[at] == '"')) ++at;
  size_t end = at;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  return end > at && end - at <= 13 ? text.substr(at, end - at) : std::string();
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

std::string check_command(const ThingModel* model, Operation operation, const json& params,
                          const std::string& service_id) {
  switch (operation) {
    case Operation::kPropertySet:
      if (model) return model->check_property_set(params);
      return params.is_object() ? std::string() : "params: expected an object of properties";
    case Operation::kPropertyGet:
      if (model) return model->check_property_get(params);
      return params.is_array() ? std::string() : "params: expected a list of identifiers";
    case Operation::kServiceInvoke:
      if (service_id.empty()) return "identifier: missing";
      return model ? model->check_service_input(service_id, params) : std::string();
    default:
      return "not a command";
  }
}

std::string check_reply(const ThingModel* model, Operation operation, const Reply& reply,
                        const std::string& service_id) {
  if (model == nullptr || reply.code != kCodeOk) return {};
  switch (operation) {
    case Operation::kPropertyGet: {
      if (!reply.data.is_object()) return "data: expected {\"property\": value, ...}";
      for (auto it = reply.data.begin(); it != reply.data.end(); ++it) {
        const Property* p = model->property(it.key());
        if (p == nullptr) return "data: unknown property '" + it.key() + "'";
        std::string problem = ThingModel::check_value(p->type, it.value(), "data." + it.key());
        if (!problem.empty()) return problem;
      }
      return {};
    }
    case Operation::kServiceInvoke:
      return model->check_service_output(service_id, reply.data);
    default:
      return {};  // a property/set reply carries no data of the model's
  }
}

std::string check_batch_points(const ThingModel& model, const json& properties, const json& events,
                               bool history) {
  if (!properties.is_object() || !events.is_object())
    return "properties and events must be objects";
  // Each point as its own post would be checked: {"name": {"value", "time"}}.
  const auto check_group = [&](const json& group,
                               std::string (ThingModel::*check_post)(const json&) const) {
    for (auto it = group.begin(); it != group.end(); ++it) {
      if (history && !it.value().is_array())
        return it.key() + ": a history point is a list of {value, time}";
      const json points = history ? it.value() : json::array({it.value()});
      for (const json& point : points) {
        std::string problem = (model.*check_post)(json{{it.key(), point}});
        if (!problem.empty()) return problem;
      }
    }
    return std::string();
  };
  std::string problem = check_group(properties, &ThingModel::check_property_post);
  return problem.empty() ? check_group(events, &ThingModel::check_event_post) : problem;
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > 30) return false;
  for (const char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '$';
    if (!allowed) return false;
  }
  return true;
}

std::string check_datapoints(const json& dp) {
  if (!dp.is_object() || dp.empty())
    return "dp: expected {\"stream\": [{\"v\": value, \"t\": seconds}, ...], ...}";
  for (auto it = dp.begin(); it != dp.end(); ++it) {
    const std::string& stream = it.key();
    if (!valid_stream_name(stream))
      return "stream '" + stream + "': 1 to 30 letters, digits, '_', '.' or '$'";
    if (!it.value().is_array() || it.value().empty())
      return stream + ": expected a list of points {\"v\": value, \"t\": seconds}";
    for (const json& point : it.value()) {
      if (!point.is_object() || point.find("v") == point.end())
        return stream + ": each point is {\"v\": value, \"t\": seconds}";
      for (auto m = point.begin(); m != point.end(); ++m) {
        if (m.key() != "v" && m.key() != "t") return stream + ": unknown member '" + m.key() + "'";
      }
      const auto t = point.find("t");
      if (t == point.end()) continue;
      if (!t->is_number_integer() || t->get<int64_t>() < 0)  // above INT64_MAX reads negative
        return stream + ".t: Unix seconds, an integer of 0 or more";
      if (t->get<int64_t>() >= kLatestPointSeconds)
        return stream + ".t: " + t->dump() + " is after 2100: Unix seconds, not milliseconds";
    }
  }
  return {};
}

std::vector<std::string> identifiers_of(const json& params) {
  std::vector<std::string> ids;
  for (const json& p : params) {
    if (p.is_string()) ids.push_back(p.get<std::string>());
  }
  return ids;
}

Device::Device(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
               port::HmacFunction hmac, uint64_t (*unix_seconds)(), const client::Storage& storage,
               CommandHandler& commands)
    : client_(transport, clock, random, storage, *this),
      clock_(clock),
      hmac_(hmac),
      unix_seconds_(unix_seconds),
      commands_(commands) {}

Status Device::start(const DeviceOptions& options) {
  // The running client points into options_ and token_: they must not change under it.
  if (client_.state() != client::State::kIdle) return Status::kClientBusy;
  options_ = options;
  last_error_.clear();
  // Said in these words: the token's check would catch them too, but it speaks of `res`.
  for (const std::string* name : {&options.product_id, &options.device_name}) {
    if (!valid_name(*name)) {
      last_error_ = (name == &options.product_id ? "product id '" : "device name '") + *name +
                    "': 1 to 64 letters, digits, '_' or '-'";
      return Status::kInvalidArgument;
    }
  }
  // Zero would make every login token expire as it is signed, or every request time out as it
  // is sent.
  if (options.token_ttl_seconds == 0 || options.request_timeout_ms == 0) {
    last_error_ = options.token_ttl_seconds == 0 ? "token_ttl_seconds: must be above 0"
                                                 : "request_timeout_ms: must be above 0";
    return Status::kInvalidArgument;
  }
  const bool streams = options.protocol == DataProtocol::kDataStream;
  if (streams && options.thing_model != nullptr) {
    last_error_ = "thing_model: a data-stream product has none (it is for OneJSON products)";
    return Status::kInvalidArgument;
  }
  if (!streams && options.device_image) {
    last_error_ =
        "device_image: the device image is for data-stream products (a OneJSON "
        "device's shadow is its desired values)";
    return Status::kInvalidArgument;
  }
  auth::TokenRequest token;
  const std::string resource = "products/" + options.product_id + "/devices/" + options.device_name;
  token.resource = resource;
  token.access_key = options.access_key;
  token.method = options.method;
  const Status valid = auth::check_request(token);
  if (valid != Status::kOk) return valid;
  codec::Connect unused;
  before_connect(unused);  // a first token, so that configure sees a password
  if (token_.empty()) return Status::kAuthHmacFailed;

  client::Options o = options.client;
  o.profile = client::Profile::kOneNet;
  o.connect.client_id = options_.device_name;
  o.connect.keep_alive_seconds = options.keep_alive_seconds;
  o.connect.clean_session = true;
  o.connect.has_will = false;
  o.connect.has_username = true;
  o.connect.username = options_.product_id;
  o.connect.has_password = true;
  o.connect.password = std::string_view(token_);
  Status s = client_.configure(o);
  if (s != Status::kOk) return s;
  // OneJSON: one subscription carries every downlink (section 6), $sys/{pid}/{dev}/thing/#.
  // Data streams: dp/post/json/+ and cmd/# (a wildcard before the fifth level is refused).
  char filter[512];
  Result<size_t> n =
      streams ? make_stream_filter(filter, sizeof filter, options_.product_id, options_.device_name,
                                   false)
              : make_thing_filter(filter, sizeof filter, options_.product_id, options_.device_name);
  if (!n) return n.status();
  filter_.assign(filter, n.value());
  command_filter_.clear();
  if (streams) {
    n = make_stream_filter(filter, sizeof filter, options_.product_id, options_.device_name, true);
    if (!n) return n.status();
    command_filter_.assign(filter, n.value());
  }
  image_filter_.clear();
  if (options_.device_image) {
    n = make_image_filter(filter, sizeof filter, options_.product_id, options_.device_name);
    if (!n) return n.status();
    image_filter_.assign(filter, n.value());
  }
  ota_topic_.clear();
  if (options_.ota_inform) {
    ota_topic_ = "$sys/" + options_.product_id + "/" + options_.device_name + "/ota/inform";
  }
  s = subscribe_downlinks();
  if (s != Status::kOk) return s;
  return client_.start();
}

Status Device::subscribe_downlinks() {
  codec::Subscription subs[4];
  size_t count = 0;
  for (const std::string* filter : {&filter_, &command_filter_, &image_filter_, &ota_topic_}) {
    if (!filter->empty()) subs[count++] = {*filter, codec::QoS::kAtMostOnce};
  }
  return client_.subscribe(subs, count);
}

Status Device::require_protocol(DataProtocol protocol) {
  if (options_.protocol == protocol) return Status::kOk;
  last_error_ = protocol == DataProtocol::kDataStream
                    ? "data points are for data-stream products; this device speaks OneJSON "
                      "(DeviceOptions::protocol)"
                    : "thing-model requests are for OneJSON products; this device speaks the "
                      "data-stream protocol (DeviceOptions::protocol)";
  return Status::kInvalidArgument;
}

// A fresh token before every login, so a long-running device never presents an expired one.
void Device::before_connect(codec::Connect& connect) {
  auth::TokenRequest request;
  const std::string res = "products/" + options_.product_id + "/devices/" + options_.device_name;
  request.resource = res;
  request.access_key = options_.access_key;
  request.method = options_.method;
  request.expires_at = unix_seconds_() + options_.token_ttl_seconds;
  char token[auth::max_token_length(auth::kMaxResourceLength, auth::kMaxVersionLength) + 1];
  const Result<size_t> n = auth::sign_token(request, hmac_, token, sizeof token);
  if (!n) return;
  token_.assign(token, n.value());
  connect.has_password = true;
  connect.password = std::string_view(token_);
}

Status Device::poll(uint32_t max_wait_ms) {
  const uint32_t due = next_timeout_ms();
  const Status s = client_.poll(due < max_wait_ms ? due : max_wait_ms);
  expire_requests();
  return s;
}

uint32_t Device::next_timeout_ms() {
  uint32_t due = client_.next_timeout_ms();
  const uint64_t now = clock_.now_ms();
  for (const auto& [id, p] : pending_) {
    const uint64_t left = p.deadline_ms > now ? p.deadline_ms - now : 0;
    if (left < due) due = static_cast<uint32_t>(left);
  }
  return due;
}

void Device::expire_requests() {
  send_waiting_replies();
  const uint64_t now = clock_.now_ms();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    ReplyCallback done = std::move(it->second.done);
    it = pending_.erase(it);
    if (done) done(Status::kModelReplyTimeout, Reply{});
  }
}

Status Device::disconnect() {
  return client_.disconnect();
}

std::string Device::next_id() {
  // OneJSON ids are at most 13 digits (section 4.1); data-point ids are int32 above 0 (4.6).
  const uint64_t largest =
      options_.protocol == DataProtocol::kDataStream ? INT32_MAX : 9999999999999ULL;
  next_id_ = next_id_ % largest + 1;
  return std::to_string(next_id_);
}

Result<std::string> Device::request(Operation operation, json params, ReplyCallback done) {
  if (!is_uplink(operation)) return Status::kInvalidArgument;
  if (operation == Operation::kTopoGetResult) {
    // Not a request: an answer without a reply of its own, shaped {id, code, msg}. A request's
    // envelope would be wrong for it, and `done` would never be called.
    last_error_ = "topo/get/result answers topo/get: gateway::Gateway::get_topology sends it";
    return Status::kInvalidArgument;
  }
  const Status speaks = require_protocol(DataProtocol::kOneJson);
  if (speaks != Status::kOk) return speaks;
  const std::string topic = make(options_.product_id, options_.device_name, operation, false);
  return send_request(topic, {{"version", "1.0"}, {"params", std::move(params)}}, "params",
                      std::move(done));
}

Result<std::string> Device::send_request(const std::string& topic, json body, const char* content,
                                         ReplyCallback done) {
  if (pending_.size() >= options_.max_pending) return Status::kModelTooManyPending;
  const uint64_t id_before = next_id_;
  const std::string id = next_id();
  // A data point's id is a number; a OneJSON request's a string.
  body["id"] = options_.protocol == DataProtocol::kDataStream ? json(next_id_) : json(id);
  const std::string payload = to_text(body);
  // to_text wrote U+FFFD for any byte that is not UTF-8, so only text holding one needs the
  // walk over every string that tells a caller's bad bytes from a U+FFFD it meant.
  if (payload.find("\xEF\xBF\xBD") != std::string::npos && !is_utf8(body[content])) {
    next_id_ = id_before;  // nothing was sent under this id
    last_error_ = std::string(content) + ": a string or key is not UTF-8 (JSON text must be)";
    return Status::kModelInvalidValue;
  }
  // QoS 1: stored across reconnects until the broker has it (OneNET takes QoS <= 1).
  const Result<uint16_t> sent =
      client_.publish(topic, std::string_view(payload), codec::QoS::kAtLeastOnce);
  if (!sent) return sent.status();
  pending_[id] =
      Pending{clock_.now_ms() + options_.request_timeout_ms, std::move(done), sent.value(), false};
  return id;
}

Result<std::string> Device::post_datapoints(const json& values, ReplyCallback done,
                                            int64_t time_s) {
  const Status speaks = require_protocol(DataProtocol::kDataStream);
  if (speaks != Status::kOk) return speaks;
  if (!values.is_object() || values.empty()) {
    last_error_ = "values: expected {\"stream\": value, ...}";
    return Status::kModelInvalidValue;
  }
  json dp = json::object();
  for (auto it = values.begin(); it != values.end(); ++it) {
    json point = {{"v", it.value()}};
    if (time_s != 0) point["t"] = time_s;  // a negative one is refused by the check
    dp[it.key()] = json::array({std::move(point)});
  }
  return post_datapoint_series(dp, std::move(done));
}

Result<std::string> Device::post_datapoint_series(const json& dp, ReplyCallback done) {
  const Status speaks = require_protocol(DataProtocol::kDataStream);
  if (speaks != Status::kOk) return speaks;
  last_error_ = check_datapoints(dp);
  if (!last_error_.empty()) return Status::kModelInvalidValue;
  char topic[512];
  const Result<size_t> n = make_stream_topic(topic, sizeof topic, options_.product_id,
                                             options_.device_name, StreamTopic::kPointsPost);
  if (!n) return n.status();
  return send_request(std::string(topic, n.value()), {{"dp", dp}}, "dp", std::move(done));
}

Result<std::string> Device::update_image(const json& reported, const json& desired,
                                         ReplyCallback done) {
  const Status speaks = require_protocol(DataProtocol::kDataStream);
  if (speaks != Status::kOk) return speaks;
  if (image_filter_.empty()) {
    last_error_ = "the device image's answers come on image/#: set DeviceOptions::device_image";
    return Status::kInvalidArgument;
  }
  json state = json::object();
  for (const auto& [name, values] : {std::pair<const char*, const json*>{"reported", &reported},
                                     std::pair<const char*, const json*>{"desired", &desired}}) {
    if (values->is_null()) continue;
    std::string problem;
    if (check_image_values(*values, &problem) != ImageProblem::kNone) {
      last_error_ = std::string(name) + ": " + problem;
      return Status::kModelInvalidValue;
    }
    state[name] = *values;
  }
  if (state.empty()) {
    // OneNET's error 164: at least one of desired and reported (section 3).
    last_error_ = "reported and desired are both null: nothing to update";
    return Status::kModelInvalidValue;
  }
  const json body = {{"state", state}};
  const std::string payload = to_text(body);
  if (payload.size() > kMaxImageBytes) {
    last_error_ = "state: " + std::to_string(payload.size()) +
                  " bytes of JSON; a device image holds at most 4096";
    return Status::kModelInvalidValue;
  }
  if (payload.find("\xEF\xBF\xBD") != std::string::npos && !is_utf8(body)) {
    last_error_ = "state: a string or key is not UTF-8 (JSON text must be)";
    return Status::kModelInvalidValue;
  }
  return send_image_request(StreamTopic::kImageUpdate, payload, image_updates_, std::move(done));
}

Result<std::string> Device::get_image(ReplyCallback done) {
  const Status speaks = require_protocol(DataProtocol::kDataStream);
  if (speaks != Status::kOk) return speaks;
  if (image_filter_.empty()) {
    last_error_ = "the device image's answers come on image/#: set DeviceOptions::device_image";
    return Status::kInvalidArgument;
  }
  // An empty message asks for the image (section 3).
  return send_image_request(StreamTopic::kImageGet, std::string(), image_gets_, std::move(done));
}

Result<std::string> Device::send_image_request(StreamTopic kind, const std::string& payload,
                                               std::deque<std::string>& order, ReplyCallback done) {
  if (pending_.size() >= options_.max_pending) return Status::kModelTooManyPending;
  char topic[512];
  const Result<size_t> n =
      make_stream_topic(topic, sizeof topic, options_.product_id, options_.device_name, kind);
  if (!n) return n.status();
  // Keys of their own, so that they never meet a data point's id in pending_.
  const std::string key = (kind == StreamTopic::kImageGet ? "image/get#" : "image/update#") +
                          std::to_string(++next_image_request_);
  const Result<uint16_t> sent = client_.publish(
      std::string_view(topic, n.value()), std::string_view(payload), codec::QoS::kAtLeastOnce);
  if (!sent) return sent.status();
  // Keys of requests that timed out wait for their late answers; a cloud that never sends one
  // must not make them pile up.
  while (order.size() >= 2 * options_.max_pending) order.pop_front();
  order.push_back(key);
  pending_[key] =
      Pending{clock_.now_ms() + options_.request_timeout_ms, std::move(done), sent.value(), false};
  return key;
}

void Device::complete_image_request(std::deque<std::string>& order, Status status,
                                    const Reply& reply) {
  if (order.empty()) return;  // an answer to nothing we asked
  const std::string key = std::move(order.front());
  order.pop_front();
  complete(key, status, reply);  // a key that timed out is no longer pending: dropped
}

Result<std::string> Device::post_properties(const json& values, ReplyCallback done,
                                            int64_t time_ms) {
  if (!values.is_object() || values.empty()) {
    last_error_ = "values: expected {\"property\": value, ...}";
    return Status::kModelInvalidValue;
  }
  json params = json::object();
  for (auto it = values.begin(); it != values.end(); ++it) {
    params[it.key()] = {{"value", it.value()}};
    if (time_ms > 0) params[it.key()]["time"] = time_ms;
  }
  if (options_.thing_model != nullptr) {
    last_error_ = options_.thing_model->check_property_post(params);
    if (!last_error_.empty()) return Status::kModelInvalidValue;
  }
  return request(Operation::kPropertyPost, std::move(params), std::move(done));
}

Result<std::string> Device::post_event(const std::string& identifier, const json& output,
                                       ReplyCallback done, int64_t time_ms) {
  json event = {{"value", output.is_null() ? json::object() : output}};
  if (time_ms > 0) event["time"] = time_ms;
  json params = {{identifier, event}};
  if (options_.thing_model != nullptr) {
    last_error_ = options_.thing_model->check_event_post(params);
    if (!last_error_.empty()) return Status::kModelInvalidValue;
  }
  return request(Operation::kEventPost, std::move(params), std::move(done));
}

Result<std::string> Device::get_desired(const std::vector<std::string>& identifiers,
                                        ReplyCallback done) {
  const json params(identifiers);
  if (options_.thing_model != nullptr) {
    last_error_ = options_.thing_model->check_property_get(params);
    if (!last_error_.empty()) return Status::kModelInvalidValue;
  }
  return request(Operation::kDesiredGet, params, std::move(done));
}

Result<std::string> Device::delete_desired(const std::map<std::string, int>& versions,
                                           ReplyCallback done) {
  json params = json::object();
  json identifiers = json::array();
  for (const auto& [property, version] : versions) {
    params[property] = version >= 0 ? json{{"version", version}} : json::object();
    identifiers.push_back(property);
  }
  // The same check as get_desired's: only the model's properties have desired values.
  if (options_.thing_model != nullptr) {
    last_error_ = options_.thing_model->check_property_get(identifiers);
    if (!last_error_.empty()) return Status::kModelInvalidValue;
  }
  return request(Operation::kDesiredDelete, std::move(params), std::move(done));
}

Result<std::string> Device::post_batch(const json& params, bool history, ReplyCallback done) {
  if (!params.is_array()) {
    last_error_ = "params: expected a list of device entries";
    return Status::kModelInvalidValue;
  }
  if (options_.thing_model != nullptr) {
    for (const json& entry : params) {
      if (!entry.is_object()) {
        last_error_ = "params: each entry is an object";
        return Status::kModelInvalidValue;
      }
      const json* identity = member(entry, "identity");
      const bool own =
          identity == nullptr || (string_member(*identity, "productID") == options_.product_id &&
                                  string_member(*identity, "deviceName") == options_.device_name);
      if (!own) continue;
      last_error_ =
          check_batch_points(*options_.thing_model, member_or(entry, "properties", json::object()),
                             member_or(entry, "events", json::object()), history);
      if (!last_error_.empty()) return Status::kModelInvalidValue;
    }
  }
  return request(history ? Operation::kHistoryPost : Operation::kPackPost, params, std::move(done));
}

void Device::complete(const std::string& id, Status status, const Reply& reply) {
  const auto it = pending_.find(id);
  if (it == pending_.end()) return;  // late, after its timeout, or not ours
  ReplyCallback done = std::move(it->second.done);
  pending_.erase(it);
  if (done) done(status, reply);
}

void Device::on_state(client::State state, Status reason) {
  if (state == client::State::kBackoff || state == client::State::kIdle) {
    std::string().swap(parts_);  // a message cut off with the link comes again from offset 0
    waiting_replies_.clear();    // the cloud stops waiting for them with the link
    // Replies travel at QoS 0: a request the broker had taken lost its reply with the link. One
    // it had not taken is sent again after the reconnect (QoS 1), and is answered then; unless
    // nobody reconnects (kIdle: disconnect(), or no auto_reconnect).
    std::vector<ReplyCallback> lost;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (state == client::State::kIdle || it->second.taken) {
        lost.push_back(std::move(it->second.done));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    // The image requests left are those sent again after the reconnect, in their order.
    for (std::deque<std::string>* order : {&image_updates_, &image_gets_}) {
      order->erase(std::remove_if(order->begin(), order->end(),
                                  [this](const std::string& key) { return !pending_.count(key); }),
                   order->end());
    }
    for (ReplyCallback& done : lost) {
      if (done) done(Status::kClientNotConnected, Reply{});
    }
  }
  if (state == client::State::kConnected && subscription_refused_) {
    subscription_refused_ = false;
    (void)subscribe_downlinks();  // checked at start(); refused again: on_subscribed
  }
  if (gateway_ != nullptr) gateway_->on_gateway_state(state, reason);
  commands_.on_connection(state, reason);
}

void Device::on_delivered(uint16_t packet_id, Status result) {
  // Packet ids are reused once acknowledged: only a request not yet taken can be this one's.
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    Pending& p = it->second;
    if (p.taken || p.packet_id != packet_id) continue;
    if (result == Status::kOk) {
      p.taken = true;
      return;
    }
    ReplyCallback done = std::move(p.done);  // dropped unsent (RequeuePolicy::kDrop)
    pending_.erase(it);
    if (done) done(Status::kClientNotConnected, Reply{});
    return;
  }
}

// Every downlink, replies included, comes through filter_: a refusal must not go unnoticed (the
// client does not resubscribe a refused filter by itself).
void Device::on_subscribed(std::string_view filter, Status result, codec::QoS /*granted*/) {
  const bool ours = filter == filter_ || (!command_filter_.empty() && filter == command_filter_) ||
                    (!image_filter_.empty() && filter == image_filter_) ||
                    (!ota_topic_.empty() && filter == ota_topic_);
  if (result == Status::kOk || !ours) return;
  subscription_refused_ = true;
  last_error_ = "the cloud refused the subscription to " + std::string(filter) +
                ": no command or reply arrives until it is accepted (asked again at the next "
                "connection)";
  commands_.on_connection(client_.state(), result);
}

void Device::on_message(const client::Message& message) {
  const bool ota_inform = !ota_topic_.empty() && message.topic == ota_topic_;
  const bool streams = options_.protocol == DataProtocol::kDataStream;
  TopicParts topic;
  StreamTopicParts stream_topic;
  if (!ota_inform) {
    const bool ours = streams ? parse_stream_topic(message.topic, &stream_topic) &&
                                    stream_topic.product_id == options_.product_id &&
                                    stream_topic.device_name == options_.device_name
                              : parse_topic(message.topic, &topic) &&
                                    topic.product_id == options_.product_id &&
                                    topic.device_name == options_.device_name;
    if (!ours) return;
  }
  std::string payload;
  if (message.offset == 0 && message.complete()) {
    payload.assign(message.payload.as_text());
  } else {
    // A part of a message longer than rx: JSON is parsed whole, so the parts are gathered first.
    // A resent message starts again at offset 0, which drops what a lost link left behind.
    if (message.offset == 0) parts_.clear();
    if (message.total_size <= kMaxCommandBytes) parts_.append(message.payload.as_text());
    if (!message.complete()) return;
    if (message.total_size > kMaxCommandBytes || parts_.size() != message.total_size) {
      std::string().swap(parts_);
      commands_.on_message_dropped(message.topic, Status::kClientMessageTooLarge);
      return;
    }
    payload.swap(parts_);  // parts_ is left empty, and payload's buffer freed on return
  }
  if (ota_inform) {
    answer_ota_inform(payload);
    return;
  }
  if (streams) {
    on_stream_message(stream_topic, payload);
    return;
  }
  const bool uplink = is_uplink(topic.operation);
  if (topic.is_reply && uplink) {  // the platform answering one of our requests
    const json body = parse_json(payload);
    if (!body.is_object()) {
      complete(salvage_request_id(payload), Status::kModelBadReply, Reply{});
      return;
    }
    const int64_t code = integer_member(body, "code", INT64_MIN);
    if (code < INT32_MIN || code > INT32_MAX) {  // no code, or not an integer: nothing to read
      complete(request_id(body), Status::kModelBadReply, Reply{});
      return;
    }
    Reply reply;
    reply.code = static_cast<int>(code);
    reply.msg = string_member(body, "msg");
    reply.data = member_or(body, "data", json());
    complete(request_id(body), Status::kOk, reply);
    return;
  }
  if (!topic.is_reply && !uplink) answer_command(topic, payload);
  // Anything else is our own request or reply echoed back by the thing/# subscription.
}

void Device::on_stream_message(const StreamTopicParts& topic, const std::string& payload) {
  const std::string command_id(topic.command_id);
  switch (topic.kind) {
    case StreamTopic::kPointsAccepted:
    case StreamTopic::kPointsRejected: {
      const json body = parse_json(payload);
      // An id of -1 is the cloud saying it could not read one: no request of ours (ours are
      // readable) can be matched with it, and the one it was times out.
      const int64_t id = body.is_object() ? integer_member(body, "id", -1) : -1;
      if (id <= 0) return;
      if (topic.kind == StreamTopic::kPointsAccepted) {
        complete(std::to_string(id), Status::kOk, Reply{kCodeOk, "accepted", {}});
        return;
      }
      Reply refusal;
      complete(std::to_string(id),
               read_refusal(body, &refusal) ? Status::kOk : Status::kModelBadReply, refusal);
      return;
    }
    case StreamTopic::kCommandRequest:
      answer_stream_command(command_id, payload);
      return;
    case StreamTopic::kCommandAccepted:
      commands_.on_command_answered(command_id, Status::kOk, Reply{kCodeOk, "accepted", {}});
      return;
    case StreamTopic::kCommandRejected: {
      // Its payload is taken to be shaped as dp/post/json/rejected's (section 4.6 names the
      // codes, not the shape).
      Reply refusal;
      const bool read = read_refusal(parse_json(payload), &refusal);
      commands_.on_command_answered(command_id, read ? Status::kOk : Status::kModelBadReply,
                                    refusal);
      return;
    }
    case StreamTopic::kImageUpdateAccepted:
    case StreamTopic::kImageGetAccepted: {
      const bool update = topic.kind == StreamTopic::kImageUpdateAccepted;
      const json body = parse_json(payload);
      // The image itself must be readable; update/accepted's content is not documented.
      if (!update && !body.is_object()) {
        complete_image_request(image_gets_, Status::kModelBadReply, Reply{});
        return;
      }
      complete_image_request(update ? image_updates_ : image_gets_, Status::kOk,
                             Reply{kCodeOk, "accepted", body.is_discarded() ? json() : body});
      return;
    }
    case StreamTopic::kImageUpdateRejected:
    case StreamTopic::kImageGetRejected: {
      // Section 3's image error table: {err_code, err_msg}, as dp/post/json/rejected.
      Reply refusal;
      const bool read = read_refusal(parse_json(payload), &refusal);
      complete_image_request(
          topic.kind == StreamTopic::kImageUpdateRejected ? image_updates_ : image_gets_,
          read ? Status::kOk : Status::kModelBadReply, refusal);
      return;
    }
    case StreamTopic::kImageUpdateDelta: {
      const json delta = parse_json(payload);
      if (delta.is_object()) commands_.on_image_delta(delta);
      return;
    }
    case StreamTopic::kPointsPost:
    case StreamTopic::kCommandResponse:
    case StreamTopic::kImageUpdate:
    case StreamTopic::kImageGet:
      return;  // our own uplinks: cmd/# and image/# carry them back to us
  }
}

void Device::answer_stream_command(const std::string& command_id, std::string_view payload) {
  std::optional<std::string> response = commands_.on_command(command_id, payload);
  if (!response) return;  // OneNET lets a device leave a command unanswered
  if (response->size() > kMaxCommandResponseBytes) {
    last_error_ = "response to command " + command_id + ": " + std::to_string(response->size()) +
                  " bytes, not sent (OneNET takes less than 1024)";
    commands_.on_command_answered(command_id, Status::kModelInvalidValue,
                                  Reply{0, last_error_, {}});
    return;
  }
  char topic[512];
  const Result<size_t> n =
      make_stream_topic(topic, sizeof topic, options_.product_id, options_.device_name,
                        StreamTopic::kCommandResponse, command_id);
  if (!n) return;  // the id came in a topic of the same shape, so this cannot fail
  (void)send_or_wait(std::string(topic, n.value()), std::move(*response));
}

void Device::answer_command(const TopicParts& topic, const std::string& payload) {
  const json request = parse_json(payload);
  const bool for_gateway = topic.operation == Operation::kTopoChange ||
                           topic.operation == Operation::kSubPropertyGet ||
                           topic.operation == Operation::kSubPropertySet ||
                           topic.operation == Operation::kSubServiceInvoke;
  if (for_gateway) {
    if (gateway_ == nullptr) return;
    const std::string id = request.is_object() ? request_id(request) : salvage_request_id(payload);
    gateway_->on_gateway_request(topic.operation, id, request.is_object() ? request : json());
    return;
  }
  if (!request.is_object()) {
    const std::string id = salvage_request_id(payload);
    if (!id.empty()) send_reply(topic, id, Reply{kCodeBadRequest, "malformed JSON", {}});
    return;
  }
  const std::string id = request_id(request);
  const json params = request.contains("params") ? request["params"] : json();
  const std::string service(topic.service_id);
  const std::string problem = check_command(options_.thing_model, topic.operation, params, service);
  Reply reply;
  if (problem.empty()) {
    switch (topic.operation) {
      case Operation::kPropertySet:
        reply = commands_.on_property_set(params);
        break;
      case Operation::kPropertyGet:
        reply = commands_.on_property_get(identifiers_of(params));
        break;
      case Operation::kServiceInvoke:
        reply = commands_.on_service(service, params.is_null() ? json::object() : params);
        break;
      default:
        return;  // not a downlink command (gateway commands went to the listener above)
    }
    const std::string wrong = check_reply(options_.thing_model, topic.operation, reply, service);
    if (!wrong.empty()) {
      last_error_ = "reply refused by the thing model: " + wrong;
      reply = Reply{kCodeDeviceFailure, last_error_, {}};
    }
  }
  if (!problem.empty()) reply = Reply{kCodeBadRequest, problem, {}};
  send_reply(topic, id, reply);
}

void Device::send_reply(const TopicParts& topic, const std::string& id, const Reply& reply) {
  (void)answer(topic.operation, id, reply, std::string(topic.service_id));
}

Status Device::answer(Operation operation, const std::string& id, const Reply& reply,
                      const std::string& service_id) {
  if (is_uplink(operation)) return Status::kInvalidArgument;
  const Status speaks = require_protocol(DataProtocol::kOneJson);
  if (speaks != Status::kOk) return speaks;
  json body = {{"id", id}, {"code", reply.code}, {"msg", reply.msg}};
  if (!reply.data.is_null()) body["data"] = reply.data;
  const std::string topic_name =
      make(options_.product_id, options_.device_name, operation, true, service_id);
  if (topic_name.empty()) return Status::kInvalidArgument;
  // A handler's strings that are not UTF-8 go out as U+FFFD: the request is still answered.
  return send_or_wait(topic_name, to_text(body));
}

// ota/inform: answered on ota/inform_reply with {id, code, msg} (section 3), as a command is.
void Device::answer_ota_inform(const std::string& payload) {
  const json request = parse_json(payload);
  std::string id;
  Reply reply;
  if (request.is_object()) {
    id = request_id(request);
    reply = commands_.on_ota_inform(member_or(request, "params", json()));
  } else {
    id = salvage_request_id(payload);
    reply = Reply{kCodeBadRequest, "malformed JSON", {}};
  }
  if (id.empty()) return;  // nothing to answer to
  json body = {{"id", id}, {"code", reply.code}, {"msg", reply.msg}};
  if (!reply.data.is_null()) body["data"] = reply.data;
  (void)send_or_wait(ota_topic_ + "_reply", to_text(body));
}

Status Device::send_or_wait(std::string topic, std::string payload) {
  if (client_.state() != client::State::kConnected) return Status::kClientNotConnected;
  WaitingReply out{std::move(topic), std::move(payload)};
  send_waiting_replies();  // those first: replies leave in the order they were made
  if (waiting_replies_.empty()) {
    const Status sent =
        client_.publish(out.topic, std::string_view(out.payload), codec::QoS::kAtMostOnce).status();
    if (sent != Status::kClientBusy && sent != Status::kClientInflightFull) return sent;
  }
  if (waiting_replies_.size() >= kMaxWaitingReplies) return Status::kModelTooManyPending;
  waiting_replies_.push_back(std::move(out));
  return Status::kOk;
}

// Sends the replies that waited for room, in order, as far as the client takes them now.
void Device::send_waiting_replies() {
  while (!waiting_replies_.empty() && client_.state() == client::State::kConnected) {
    const WaitingReply& next = waiting_replies_.front();
    const Status sent =
        client_.publish(next.topic, std::string_view(next.payload), codec::QoS::kAtMostOnce)
            .status();
    if (sent == Status::kClientBusy || sent == Status::kClientInflightFull) return;
    waiting_replies_.pop_front();  // sent, or refused for good (it cannot be sent later either)
  }
}

}  // namespace onenet::model
