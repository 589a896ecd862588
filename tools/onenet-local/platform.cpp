#include "platform.hpp"

#include <ctime>

#include "onenet/auth/token.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"

namespace onenet_local {
namespace {

using nlohmann::json;
using onenet::model::Operation;

constexpr const char* kPlatformClientId = "onenet-local-platform";
constexpr auto kCommandTimeout =
    std::chrono::seconds(5);  // section 4.2: sync calls time out after 5 s
constexpr size_t kMaxEvents = 1000;
constexpr int kCodeOk = 200;
constexpr int kCodeBadRequest = 400;  // onenet-local's code for a request it refuses
constexpr int kCodeForbidden = 403;   // a gateway acting for a device it does not own
// Data-stream answers (section 4.6): dp/post/json/rejected's one code, and cmd/response's.
constexpr int kStreamIllegalData = 98;
constexpr int kStreamResponseTooLarge = 99;
constexpr int kStreamCommandTimedOut = 112;
constexpr int kStreamUnknownCommand = 113;
constexpr size_t kMaxStreamResponseBytes = 1023;  // "less than 1 KB"
constexpr size_t kMaxPointsKept = 1000;           // per stream
constexpr size_t kMaxFinishedCommands = 1000;     // remembered to answer late responses
// Device image errors (section 3's table: err_code, err_msg).
constexpr int kImageIllegalJson = 160;
constexpr int kImageTooLarge = 161;
constexpr int kImageTooDeep = 162;
constexpr int kImageNoState = 163;
constexpr int kImageNoValues = 164;
constexpr int kImageInvalid = 165;
constexpr int kImageNotExists = 167;

std::string stream_topic_of(std::string_view product, std::string_view device,
                            onenet::model::StreamTopic kind, std::string_view command_id = {}) {
  char out[512];
  const auto n =
      onenet::model::make_stream_topic(out, sizeof out, product, device, kind, command_id);
  return n.ok() ? std::string(out, n.value()) : std::string();
}

// A random UUID (version 4), as OneNET names commands (cmd_uuid).
std::string new_command_id() {
  uint8_t raw[16];
  (void)onenet::platform::system_random(onenet::MutableByteView(raw, sizeof raw));
  raw[6] = static_cast<uint8_t>((raw[6] & 0x0F) | 0x40);
  raw[8] = static_cast<uint8_t>((raw[8] & 0x3F) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (size_t i = 0; i < sizeof raw; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[raw[i] >> 4];
    id += kHex[raw[i] & 0x0F];
  }
  return id;
}

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string topic_of(const std::string& product, const std::string& device, Operation op,
                     bool reply = false, const std::string& service = {}) {
  char out[512];
  const auto n = onenet::model::make_topic(out, sizeof out, product, device, op, reply, service);
  return n.ok() ? std::string(out, n.value()) : std::string();
}

json error_body(int code, const std::string& message) {
  return {{"code", code}, {"msg", message}};
}

// The shape of one point's values in a pack/post or history/post: a list (history: of at most
// 100 values, section 4.4) of {value, time}. Null when they pass, else the error reply.
json check_points(const std::string& device, const std::string& name, const json& points) {
  if (!points.is_array())
    return error_body(kCodeBadRequest, device + "." + name + ": expected a list of points");
  if (points.size() > 100)
    return error_body(kCodeBadRequest, device + "." + name + ": more than 100 values");
  for (const json& point : points) {
    if (!point.is_object() || !point.contains("value"))
      return error_body(kCodeBadRequest, device + "." + name + ": expected {value, time}");
  }
  return json();
}

}  // namespace

void DeviceState::record_property(const std::string& id, json value, int64_t time) {
  constexpr size_t kMaxHistory = 1000;  // a property's values kept, as a stream's points
  auto& history = property_history[id];
  history.emplace(time, value);
  if (history.size() > kMaxHistory) history.erase(history.begin());
  const auto [latest, first] = properties.try_emplace(id);
  // A value reported late (history/post, or a post with an old time) is not the latest.
  if (first || time >= latest->second.time) latest->second = {std::move(value), time};
}

int DeviceState::set_desired(const std::string& id, json value) {
  const int version = ++desired_versions[id];
  desired[id] = {std::move(value), version};
  return version;
}

json DeviceState::desired_of(const std::vector<std::string>& ids) const {
  json data = json::object();
  for (const std::string& id : ids) {
    const auto it = desired.find(id);
    if (it != desired.end())
      data[id] = {{"value", it->second.first}, {"version", it->second.second}};
  }
  return data;
}

void DeviceState::delete_desired(const std::string& id, const json* version) {
  const auto it = desired.find(id);
  if (it == desired.end()) return;
  // A version that is not the latest makes the delete a no-op (section 4.2).
  if (version != nullptr && *version != it->second.second) return;
  desired.erase(it);
  desired_versions.erase(id);  // the version starts again at 1 (section 4.2)
}

namespace {

// {"timestamp": now} for each leaf of `value`, in its shape (OneNET's image metadata).
json stamped(const json& value, int64_t now_s) {
  if (!value.is_object()) return {{"timestamp", now_s}};
  json times = json::object();
  for (auto it = value.begin(); it != value.end(); ++it)
    times[it.key()] = stamped(it.value(), now_s);
  return times;
}

// Merges `update` into `kept` (and their times): objects into objects key by key, anything
// else replaces, null removes. Depth is bounded by the checks made before.
void merge_image(json& kept, json& times, const json& update, int64_t now_s) {
  for (auto it = update.begin(); it != update.end(); ++it) {
    const std::string& key = it.key();
    if (it.value().is_null()) {  // null removes the key, as other clouds' shadows do
      kept.erase(key);
      times.erase(key);
      continue;
    }
    json* old = kept.contains(key) ? &kept[key] : nullptr;
    if (old != nullptr && old->is_object() && it.value().is_object()) {
      json& old_times = times[key];
      if (!old_times.is_object()) old_times = json::object();
      merge_image(*old, old_times, it.value(), now_s);
      continue;
    }
    kept[key] = it.value();
    times[key] = stamped(it.value(), now_s);
  }
}

// The desired values that differ from the reported ones, nested objects key by key, with the
// desired values' times; false when none does.
bool image_difference(const json& desired, const json& desired_times, const json& reported,
                      json* state, json* metadata) {
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    const json* have = onenet::model::member(reported, it.key().c_str());
    const json* time = onenet::model::member(desired_times, it.key().c_str());
    if (it.value().is_object() && have != nullptr && have->is_object()) {
      json sub_state = json::object();
      json sub_metadata = json::object();
      if (image_difference(it.value(), time ? *time : json::object(), *have, &sub_state,
                           &sub_metadata)) {
        (*state)[it.key()] = std::move(sub_state);
        (*metadata)[it.key()] = std::move(sub_metadata);
      }
      continue;
    }
    if (have != nullptr && *have == it.value()) continue;
    (*state)[it.key()] = it.value();
    if (time != nullptr) (*metadata)[it.key()] = *time;
  }
  return !state->empty();
}

}  // namespace

int update_image(DeviceState::Image& image, const json& request, int64_t now_s,
                 std::string* message) {
  if (request.is_discarded()) {
    *message = "illegal json";
    return kImageIllegalJson;
  }
  if (onenet::model::to_text(request).size() > onenet::model::kMaxImageBytes) {
    *message = "json out of bound";
    return kImageTooLarge;
  }
  const json* state = request.is_object() ? onenet::model::member(request, "state") : nullptr;
  if (state == nullptr) {
    *message = "state key not found";
    return kImageNoState;
  }
  const json* desired = state->is_object() ? onenet::model::member(*state, "desired") : nullptr;
  const json* reported = state->is_object() ? onenet::model::member(*state, "reported") : nullptr;
  if (state->is_object() && desired == nullptr && reported == nullptr) {
    *message = "desired or reported key not found";
    return kImageNoValues;
  }
  if (!state->is_object()) {
    *message = "invalid parameters";
    return kImageInvalid;
  }
  for (const json* values : {desired, reported}) {
    if (values == nullptr) continue;
    // The image page's limits: keys, nesting (and the size, above and below).
    switch (onenet::model::check_image_values(*values)) {
      case onenet::model::ImageProblem::kNone:
        break;
      case onenet::model::ImageProblem::kTooDeep:
        *message = "json depth out of bound";
        return kImageTooDeep;
      default:
        *message = "invalid parameters";
        return kImageInvalid;
    }
  }
  DeviceState::Image merged = image;
  if (desired != nullptr) merge_image(merged.desired, merged.desired_times, *desired, now_s);
  if (reported != nullptr) merge_image(merged.reported, merged.reported_times, *reported, now_s);
  // The whole image, not only this update, must stay within 4 KB.
  if (onenet::model::to_text(image_document(merged)["state"]).size() >
      onenet::model::kMaxImageBytes) {
    *message = "json out of bound";
    return kImageTooLarge;
  }
  image = std::move(merged);
  image.exists = true;
  ++image.version;
  image.timestamp = now_s;
  return 0;
}

json image_document(const DeviceState::Image& image) {
  return {{"state", {{"desired", image.desired}, {"reported", image.reported}}},
          {"metadata", {{"desired", image.desired_times}, {"reported", image.reported_times}}},
          {"version", image.version},
          {"timestamp", image.timestamp}};
}

json image_delta(const DeviceState::Image& image) {
  json state = json::object();
  json metadata = json::object();
  if (!image_difference(image.desired, image.desired_times, image.reported, &state, &metadata))
    return json();
  return {{"state", state},
          {"metadata", metadata},
          {"version", image.version},
          {"timestamp", image.timestamp}};
}

Platform::Platform(std::string registry_path, std::string event_log, std::string secret,
                   std::string state_dir)
    : registry_path_(std::move(registry_path)),
      event_log_(std::move(event_log)),
      secret_(std::move(secret)),
      state_dir_(std::move(state_dir)) {}

int Platform::presence(const std::string& product_id, const std::string& device_name,
                       int64_t* last_ms) {
  const std::string key = device_key(product_id, device_name);
  const std::string gateway = registry_.gateway_of(key);
  int64_t changed = 0;
  int status;
  if (gateway.empty()) {
    status = read_presence(state_dir_, product_id, device_name, &changed);
    // Never connected directly, but active before (a former sub-device): offline.
    if (status == 2 && states_[key].last_time != 0) status = 0;
  } else {
    const size_t slash = gateway.find('/');
    int64_t gateway_since = 0;
    const bool gateway_online = read_presence(state_dir_, gateway.substr(0, slash),
                                              gateway.substr(slash + 1), &gateway_since) == 1;
    const DeviceState& s = states_[key];
    // A login belongs to the gateway's session it came through: after the gateway reconnects,
    // each sub-device is offline until it logs in again (as on OneNET).
    const bool logged_in = s.sub_online && s.sub_login_time >= gateway_since;
    status = logged_in && gateway_online ? 1 : s.last_time == 0 ? 2 : 0;
  }
  if (last_ms != nullptr) *last_ms = std::max(changed, states_[key].last_time);
  return status;
}

Platform::~Platform() {
  stop();
}

void Platform::log(json event) {
  hide_credentials(event);
  event["ts"] = now_ms();
  event["source"] = "platform";
  log_event(event_log_, onenet::model::to_text(event));
}

bool Platform::save_registry(std::string* error) {
  return registry_.save(registry_path_, error);
}

const onenet::model::ThingModel* Platform::thing_model(const std::string& product_id) const {
  const auto it = models_.find(product_id);
  return it == models_.end() ? nullptr : &it->second;
}

void Platform::set_thing_model(const std::string& product_id, onenet::model::ThingModel model) {
  models_[product_id] = std::move(model);
}

DeviceState& Platform::state(const std::string& product_id, const std::string& device_name) {
  return states_[device_key(product_id, device_name)];
}

bool Platform::start(uint16_t mqtt_port, std::chrono::milliseconds timeout) {
  transport_ = std::make_unique<onenet::platform::TcpTransport>("127.0.0.1", mqtt_port);
  storage_ = std::make_unique<
      onenet::client::StaticStorage<600 * 1024, 600 * 1024, 64 * 1024, 64, 1024, 64>>();
  client_ = std::make_unique<onenet::client::Client>(
      *transport_, clock_, onenet::platform::system_random, storage_->view(), *this);
  onenet::client::Options options;
  options.connect.client_id = kPlatformClientId;
  options.connect.keep_alive_seconds = 60;
  options.connect.has_username = true;
  options.connect.username = "$onenet-local";
  options.connect.has_password = true;
  options.connect.password = std::string_view(secret_);
  options.backoff_initial_ms = 200;
  options.backoff_max_ms = 2000;
  if (client_->configure(options) != onenet::Status::kOk) return false;
  // Every device topic.
  const onenet::codec::Subscription sub{"$sys/#", onenet::codec::QoS::kAtMostOnce};
  if (client_->subscribe(&sub, 1) != onenet::Status::kOk) return false;
  runner_ = std::make_unique<onenet::platform::Runner>(*client_, *transport_);
  if (runner_->start() != onenet::Status::kOk) return false;
  std::unique_lock<std::mutex> guard(mutex_);
  return replied_.wait_for(guard, timeout, [&] { return connected_; });
}

void Platform::stop() {
  if (runner_) runner_->stop();
  runner_.reset();
}

void Platform::on_state(onenet::client::State state, onenet::Status reason) {
  std::lock_guard<std::mutex> guard(mutex_);
  connected_ = state == onenet::client::State::kConnected;
  if (!connected_ && reason != onenet::Status::kOk) {
    log({{"event", "platform_link"},
         {"state", onenet::client::to_string(state)},
         {"reason", onenet::to_string(reason)}});
  }
  replied_.notify_all();
}

void Platform::publish(const std::string& topic, const std::string& payload) {
  if (publisher_) {
    publisher_(topic, payload);
    return;
  }
  // On the runner's thread (inside on_message) the client is ours to call directly.
  const auto result =
      client_->publish(topic, std::string_view(payload), onenet::codec::QoS::kAtMostOnce);
  if (!result.ok())
    log({{"event", "error"},
         {"message", "cannot publish"},
         {"topic", topic},
         {"reason", onenet::to_string(result.status())}});
}

// "$sys/{pid}/{dn}/ota/inform_reply": what a device answered to ota/inform, for the event log.
void Platform::log_ota_inform_reply(std::string_view topic, const std::string& payload) {
  constexpr std::string_view kSuffix = "/ota/inform_reply";
  if (topic.size() <= 5 + kSuffix.size() || topic.substr(0, 5) != "$sys/" ||
      topic.substr(topic.size() - kSuffix.size()) != kSuffix) {
    return;
  }
  const std::string_view middle = topic.substr(5, topic.size() - 5 - kSuffix.size());
  const size_t slash = middle.find('/');
  if (slash == std::string_view::npos) return;
  const json reply = onenet::model::parse_json(payload);
  log({{"event", "ota_inform_reply"},
       {"product_id", std::string(middle.substr(0, slash))},
       {"device_name", std::string(middle.substr(slash + 1))},
       {"payload", reply.is_discarded() ? json(payload) : reply}});
}

int64_t Platform::add_ota_task(OtaTask task) {
  for (auto& [tid, other] : ota_tasks_) {
    if (!other.finished && other.product_id == task.product_id &&
        other.device_name == task.device_name && other.kind == task.kind) {
      finish_ota_task(other);
    }
  }
  const int64_t tid = next_ota_tid_++;
  ota_tasks_[tid] = std::move(task);
  return tid;
}

void Platform::finish_ota_task(OtaTask& task) {
  task.finished = true;
  std::string().swap(task.package);
}

OtaTask* Platform::ota_task(int64_t tid) {
  const auto it = ota_tasks_.find(tid);
  return it == ota_tasks_.end() ? nullptr : &it->second;
}

OtaTask* Platform::ota_task_for(const std::string& product_id, const std::string& device_name,
                                int kind, int64_t* tid) {
  for (auto& [id, task] : ota_tasks_) {
    if (!task.finished && task.product_id == product_id && task.device_name == device_name &&
        task.kind == kind) {
      *tid = id;
      return &task;
    }
  }
  return nullptr;
}

void Platform::inform_ota(int64_t tid) {
  std::string id;
  std::string product_id;
  std::string device_name;
  json params;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const OtaTask* task = ota_task(tid);
    if (task == nullptr) return;
    product_id = task->product_id;
    device_name = task->device_name;
    if (presence(product_id, device_name) != 1 ||
        !registry_.gateway_of(device_key(product_id, device_name)).empty())
      return;
    id = next_request_id();
    // onenet-local's choice: OneNET documents only the id the reply carries.
    params = {{"tid", tid},
              {"type", task->kind},
              {"target", task->target},
              {"size", task->package.size()},
              {"md5", task->md5}};
  }
  const json inform = {{"id", id}, {"version", "1.0"}, {"params", params}};
  const std::string topic = "$sys/" + product_id + "/" + device_name + "/ota/inform";
  log({{"event", "ota_inform"},
       {"product_id", product_id},
       {"device_name", device_name},
       {"payload", inform}});
  (void)runner_->publish(topic, onenet::model::to_text(inform), onenet::codec::QoS::kAtMostOnce)
      .get();
}

std::string Platform::next_request_id() {
  return std::to_string(++request_counter_);
}

void Platform::on_message(const onenet::client::Message& message) {
  const std::string payload(message.payload.as_text());
  onenet::model::TopicParts topic;
  if (!onenet::model::parse_topic(message.topic, &topic)) {
    onenet::model::StreamTopicParts stream;
    if (onenet::model::parse_stream_topic(message.topic, &stream)) {
      if (stream.kind == onenet::model::StreamTopic::kPointsPost) {
        handle_datapoints(stream, payload);
      } else if (stream.kind == onenet::model::StreamTopic::kCommandResponse) {
        handle_command_response(stream, payload);
      } else if (stream.kind == onenet::model::StreamTopic::kImageUpdate ||
                 stream.kind == onenet::model::StreamTopic::kImageGet) {
        handle_image(stream, payload);
      }
      return;  // the rest are our own answers and commands, echoed back
    }
    log_ota_inform_reply(message.topic, payload);
    return;  // neither OneJSON nor data streams: no answer, as OneNET
  }
  const bool device_answering = topic.is_reply && !onenet::model::is_uplink(topic.operation);
  const bool device_asking = !topic.is_reply && onenet::model::is_uplink(topic.operation);
  if (!device_answering && !device_asking) return;  // our own replies and commands, echoed back
  handle_request(topic, payload);
}

void Platform::handle_request(const onenet::model::TopicParts& topic, const std::string& payload) {
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  const json request = onenet::model::parse_json(payload);
  json entry = {{"event", topic.is_reply ? "device_reply" : "request"},
                {"product_id", product},
                {"device_name", device},
                {"operation", topic_of(product, device, topic.operation, topic.is_reply,
                                       std::string(topic.service_id))}};
  // topo/get/result is the gateway's own answer: it has no reply topic, even when broken.
  const bool wants_reply = !topic.is_reply && topic.operation != Operation::kTopoGetResult;
  if (request.is_discarded() || !request.is_object()) {
    const std::string id = onenet::model::salvage_request_id(payload);
    entry["error"] = "malformed JSON";
    entry["id"] = id;
    log(entry);
    if (wants_reply && !id.empty()) reply(topic, id, error_body(kCodeBadRequest, "malformed JSON"));
    return;
  }
  const std::string id = onenet::model::request_id(request);
  entry["id"] = id;
  entry["payload"] = request;
  log(entry);
  if (topic.is_reply) {
    std::lock_guard<std::mutex> guard(mutex_);
    const auto it = pending_.find(id);
    if (it != pending_.end()) {
      it->second->reply = request;
      it->second->done = true;
      replied_.notify_all();
    }
    return;
  }
  if (id.empty()) {  // no id: nothing a reply could be matched with
    log({{"event", "error"},
         {"product_id", product},
         {"device_name", device},
         {"message", "request without an id"}});
    return;
  }
  if (!wants_reply) return;
  bool streams_only = false;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    streams_only = data_stream_product(product);
  }
  if (streams_only) {  // onenet-local's answer: OneNET's to this case is not documented
    reply(topic, id,
          error_body(kCodeBadRequest, "product " + product +
                                          " speaks the data-stream protocol (dp/post/json), "
                                          "not OneJSON"));
    return;
  }
  reply(topic, id, answer(topic, request));
}

void Platform::reply(const onenet::model::TopicParts& topic, const std::string& id, json body) {
  body["id"] = id;
  if (!body.contains("msg"))
    body["msg"] = onenet::model::integer_member(body, "code", 0) == kCodeOk ? "success" : "error";
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  log({{"event", "reply"},
       {"product_id", product},
       {"device_name", device},
       {"id", id},
       {"code", onenet::model::integer_member(body, "code", 0)},
       {"msg", body["msg"]}});
  publish(topic_of(product, device, topic.operation, true, std::string(topic.service_id)),
          onenet::model::to_text(body));
}

json Platform::answer(const onenet::model::TopicParts& topic, const json& request) {
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  const json params = request.contains("params") ? request["params"] : json();
  std::lock_guard<std::mutex> guard(mutex_);
  const onenet::model::ThingModel* model = thing_model(product);
  DeviceState& s = state(product, device);
  s.last_time = now_ms();
  switch (topic.operation) {
    case Operation::kPropertyPost: {
      if (!params.is_object())
        return error_body(kCodeBadRequest, "params: expected an object of properties");
      if (model != nullptr) {
        const std::string problem = model->check_property_post(params);
        if (!problem.empty()) return error_body(kCodeBadRequest, problem);
      }
      for (auto it = params.begin(); it != params.end(); ++it) {
        if (!it.value().is_object() || !it.value().contains("value")) {
          return error_body(kCodeBadRequest, it.key() + ": expected {\"value\": ...}");
        }
      }
      for (auto it = params.begin(); it != params.end(); ++it) {
        const json time = onenet::model::member_or(it.value(), "time", json(now_ms()));
        s.record_property(it.key(), it.value()["value"],
                          time.is_number_integer() ? time.get<int64_t>() : now_ms());
      }
      return {{"code", kCodeOk}};
    }
    case Operation::kEventPost: {
      if (!params.is_object())
        return error_body(kCodeBadRequest, "params: expected an object of events");
      if (model != nullptr) {
        const std::string problem = model->check_event_post(params);
        if (!problem.empty()) return error_body(kCodeBadRequest, problem);
      }
      for (auto it = params.begin(); it != params.end(); ++it) {
        s.events.push_back({{"identifier", it.key()},
                            {"value", it.value().is_object()
                                          ? onenet::model::member_or(it.value(), "value", json())
                                          : json()},
                            {"time", it.value().is_object() ? onenet::model::integer_member(
                                                                  it.value(), "time", now_ms())
                                                            : now_ms()}});
        if (s.events.size() > kMaxEvents) s.events.erase(s.events.begin());
      }
      return {{"code", kCodeOk}};
    }
    case Operation::kDesiredGet: {
      if (!params.is_array())
        return error_body(kCodeBadRequest, "params: expected a list of property identifiers");
      std::vector<std::string> ids;
      for (const json& name : params) {
        if (!name.is_string())
          return error_body(kCodeBadRequest, "params: identifiers must be strings");
        if (model != nullptr && model->property(name.get<std::string>()) == nullptr) {
          return error_body(kCodeBadRequest, "unknown property '" + name.get<std::string>() + "'");
        }
        ids.push_back(name.get<std::string>());
      }
      return {{"code", kCodeOk}, {"data", s.desired_of(ids)}};
    }
    case Operation::kDesiredDelete: {
      if (!params.is_object())
        return error_body(kCodeBadRequest, "params: expected an object of properties");
      for (auto it = params.begin(); it != params.end(); ++it) {
        if (model != nullptr && model->property(it.key()) == nullptr)
          return error_body(kCodeBadRequest, "unknown property '" + it.key() + "'");
      }
      for (auto it = params.begin(); it != params.end(); ++it) {
        const bool versioned = it.value().is_object() && it.value().contains("version");
        s.delete_desired(it.key(), versioned ? &it.value()["version"] : nullptr);
      }
      return {{"code", kCodeOk}};
    }
    case Operation::kPackPost:
    case Operation::kHistoryPost:
      return answer_pack(topic, params, topic.operation == Operation::kHistoryPost);
    default:
      return answer_topology(topic, params);
  }
}

// pack/post and history/post (section 4.4): entries for the gateway itself or its bound
// sub-devices only; at most 10 devices per message.
json Platform::answer_pack(const onenet::model::TopicParts& topic, const json& params,
                           bool history) {
  if (!params.is_array())
    return error_body(kCodeBadRequest, "params: expected a list of device entries");
  if (params.size() > 10) return error_body(kCodeBadRequest, "at most 10 devices per message");
  const std::string self =
      device_key(std::string(topic.product_id), std::string(topic.device_name));
  for (const json& entry : params) {
    if (!entry.is_object())
      return error_body(kCodeBadRequest, "params: each entry must be an object");
    std::string product(topic.product_id);
    std::string device(topic.device_name);
    if (entry.contains("identity")) {
      const json& identity = entry["identity"];
      product = onenet::model::string_member(identity, "productID");
      device = onenet::model::string_member(identity, "deviceName");
    }
    const std::string key = device_key(product, device);
    if (key != self && registry_.gateway_of(key) != self) {
      return {{"code", kCodeForbidden},
              {"msg", key + " is not this device or one of its sub-devices"}};
    }
    const onenet::model::ThingModel* model = thing_model(product);
    const json properties = onenet::model::member_or(entry, "properties", json::object());
    const json events = onenet::model::member_or(entry, "events", json::object());
    if (properties.size() + events.size() > 100)
      return error_body(kCodeBadRequest, key + ": more than 100 points");
    // history: each point is a list of {value, time}; pack: a single {value, time}.
    const auto points_of = [history](const json& point) {
      return history ? point : json::array({point});
    };
    // Every shape and the thing model are checked before anything is kept.
    for (const json* group : {&properties, &events}) {
      for (auto it = group->begin(); it != group->end() && group->is_object(); ++it) {
        if (const json problem = check_points(key, it.key(), points_of(it.value()));
            !problem.is_null())
          return problem;
      }
    }
    if (model != nullptr) {
      const std::string problem = onenet::model::check_batch_points(
          *model, properties.is_object() ? properties : json::object(),
          events.is_object() ? events : json::object(), history);
      if (!problem.empty()) return error_body(kCodeBadRequest, key + ": " + problem);
    }
    DeviceState& s = state(product, device);
    for (auto it = properties.begin(); it != properties.end() && properties.is_object(); ++it) {
      for (const json& point : points_of(it.value())) {
        s.record_property(it.key(), point["value"],
                          onenet::model::integer_member(point, "time", now_ms()));
      }
    }
    for (auto it = events.begin(); it != events.end() && events.is_object(); ++it) {
      for (const json& point : points_of(it.value())) {
        s.events.push_back({{"identifier", it.key()},
                            {"value", onenet::model::member_or(point, "value", json())},
                            {"time", onenet::model::integer_member(point, "time", now_ms())}});
      }
    }
    s.last_time = now_ms();
  }
  return {{"code", kCodeOk}};
}

// Sub-device login/logout and topology (section 4.5).
json Platform::answer_topology(const onenet::model::TopicParts& topic, const json& params) {
  const std::string gateway =
      device_key(std::string(topic.product_id), std::string(topic.device_name));
  const json list = params.is_array() ? params : json::array({params});
  json data = json::array();
  for (const json& item : list) {
    if (topic.operation == Operation::kTopoGet) break;
    if (!item.is_object())
      return error_body(kCodeBadRequest, "params: expected {productID, deviceName}");
    const std::string product = onenet::model::string_member(item, "productID");
    const std::string device = onenet::model::string_member(item, "deviceName");
    const std::string key = device_key(product, device);
    const Device* sub = registry_.device(product, device);
    if (sub == nullptr) return error_body(kCodeBadRequest, "unknown sub-device " + key);
    switch (topic.operation) {
      case Operation::kTopoAdd:
      case Operation::kTopoDelete: {
        // sasToken: a device token of the sub-device, signed with its own key.
        const std::string token = onenet::model::string_member(item, "sasToken");
        const onenet::Status s = onenet::auth::verify_token(
            token, sub->key, onenet::platform::unix_seconds(), onenet::platform::default_hmac());
        if (s != onenet::Status::kOk)
          return error_body(kCodeForbidden, key + ": sasToken refused: " + onenet::to_string(s));
        if (topic.operation == Operation::kTopoAdd) {
          if (key == gateway)
            return error_body(kCodeBadRequest, "a gateway cannot be its own sub-device");
          if (registry_.gateway_of(key) != gateway &&
              registry_.subdevice_count(gateway) >= max_subdevices_) {
            return error_body(
                kCodeBadRequest,
                "a gateway binds at most " + std::to_string(max_subdevices_) + " sub-devices");
          }
          registry_.bind(gateway, key);
        } else {
          registry_.unbind(gateway, key);
          states_[key].sub_online = false;
        }
        std::string error;
        if (!save_registry(&error)) log({{"event", "error"}, {"message", error}});
        break;
      }
      case Operation::kSubLogin:
      case Operation::kSubLogout:
        if (registry_.gateway_of(key) != gateway)
          return error_body(kCodeForbidden, key + " is not bound to this gateway");
        states_[key].sub_online = topic.operation == Operation::kSubLogin;
        states_[key].last_time = now_ms();
        if (topic.operation == Operation::kSubLogin) states_[key].sub_login_time = now_ms();
        break;
      default:
        return error_body(kCodeBadRequest, "unsupported request");
    }
  }
  if (topic.operation == Operation::kTopoGet) {
    for (const std::string& sub : registry_.subdevices(gateway)) {
      const size_t slash = sub.find('/');
      data.push_back({{"productID", sub.substr(0, slash)}, {"deviceName", sub.substr(slash + 1)}});
    }
    return {{"code", kCodeOk}, {"data", data}};
  }
  return {{"code", kCodeOk}};
}

bool Platform::unbind_from_cloud(const std::string& product_id, const std::string& device_name) {
  std::string topic;
  json request;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const std::string key = device_key(product_id, device_name);
    const std::string gateway = registry_.gateway_of(key);
    if (gateway.empty()) return false;
    registry_.unbind(gateway, key);
    states_[key].sub_online = false;
    std::string error;
    if (!save_registry(&error)) log({{"event", "error"}, {"message", error}});
    json list = json::array();
    for (const std::string& sub : registry_.subdevices(gateway)) {
      const size_t slash = sub.find('/');
      list.push_back({{"productID", sub.substr(0, slash)}, {"deviceName", sub.substr(slash + 1)}});
    }
    const size_t slash = gateway.find('/');
    topic = topic_of(gateway.substr(0, slash), gateway.substr(slash + 1), Operation::kTopoChange);
    request = {{"id", next_request_id()}, {"version", "1.0"}, {"params", {{"subList", list}}}};
  }
  log({{"event", "command"},
       {"product_id", product_id},
       {"device_name", device_name},
       {"topic", topic},
       {"payload", request}});
  // The gateway's topo/change_reply is logged when it comes; nothing waits for it.
  (void)runner_->publish(topic, onenet::model::to_text(request), onenet::codec::QoS::kAtMostOnce)
      .get();
  return true;
}

CommandResult Platform::command(const std::string& product_id, const std::string& device_name,
                                Operation operation, json params, const std::string& service_id) {
  CommandResult result;
  auto waiter = std::make_shared<Pending>();
  std::string id;
  std::string topic;
  json request;
  bool through_gateway = false;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    id = next_request_id();
    const std::string gateway = registry_.gateway_of(device_key(product_id, device_name));
    if (gateway.empty()) {
      topic = topic_of(product_id, device_name, operation, false, service_id);
      request = {{"id", id}, {"version", "1.0"}, {"params", params}};
    } else {  // a sub-device: through its gateway (section 4.5)
      through_gateway = true;
      const size_t slash = gateway.find('/');
      const std::string gw_product = gateway.substr(0, slash);
      const std::string gw_device = gateway.substr(slash + 1);
      json sub_params = {{"productID", product_id}, {"deviceName", device_name}};
      Operation sub_op = Operation::kSubPropertySet;
      if (operation == Operation::kPropertySet) {
        sub_params["params"] = params;
      } else if (operation == Operation::kPropertyGet) {
        sub_op = Operation::kSubPropertyGet;
        sub_params["params"] = params;
      } else {
        sub_op = Operation::kSubServiceInvoke;
        sub_params["identifier"] = service_id;
        sub_params["input"] = params;
      }
      topic = topic_of(gw_product, gw_device, sub_op);
      request = {{"id", id}, {"version", "1.0"}, {"params", sub_params}};
    }
    pending_[id] = waiter;
  }
  log({{"event", "command"},
       {"product_id", product_id},
       {"device_name", device_name},
       {"topic", topic},
       {"payload", request}});
  const auto published =
      runner_->publish(topic, onenet::model::to_text(request), onenet::codec::QoS::kAtMostOnce)
          .get();
  std::unique_lock<std::mutex> guard(mutex_);
  if (!published.ok()) {
    result.outcome = CommandResult::kNotConnected;
  } else if (replied_.wait_for(guard, kCommandTimeout, [&] { return waiter->done; })) {
    result.outcome = CommandResult::kReplied;
    result.reply = waiter->reply;
    // A sub-device's service reply wraps its output with its identity (section 4.5); callers
    // of call-service get the output alone, as for a direct device.
    json& data = result.reply["data"];
    if (through_gateway && data.is_object() && data.contains("output")) data = json(data["output"]);
  }
  pending_.erase(id);
  return result;
}

bool Platform::data_stream_product(const std::string& product_id) const {
  const Product* product = registry_.product(product_id);
  return product != nullptr && product->data_stream;
}

void Platform::handle_datapoints(const onenet::model::StreamTopicParts& topic,
                                 const std::string& payload) {
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  const json request = onenet::model::parse_json(payload);
  // -1 when the id cannot be read, as OneNET answers then (section 4.6).
  int64_t id = -1;
  if (const json* member = request.is_object() ? onenet::model::member(request, "id") : nullptr) {
    if (member->is_number_integer() && member->get<int64_t>() > 0 &&
        member->get<int64_t>() <= INT32_MAX) {
      id = member->get<int64_t>();
    }
  }
  const json dp = request.is_object() ? onenet::model::member_or(request, "dp", json()) : json();
  std::string problem;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (request.is_discarded()) {
      problem = "malformed JSON";
    } else if (id < 0) {
      problem = "id: expected an integer from 1 to 2147483647";
    } else if (!data_stream_product(product)) {
      problem = "product " + product + " speaks OneJSON, not the data-stream protocol";
    } else {
      problem = onenet::model::check_datapoints(dp);
    }
    if (problem.empty()) {
      DeviceState& s = state(product, device);
      const int64_t now = now_ms();
      s.last_time = now;
      for (auto it = dp.begin(); it != dp.end(); ++it) {
        std::vector<DeviceState::DataPoint>& kept = s.streams[it.key()];
        for (const json& point : it.value()) {
          kept.push_back({point["v"], onenet::model::integer_member(point, "t", now / 1000)});
        }
        if (kept.size() > kMaxPointsKept)
          kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(kMaxPointsKept));
      }
    }
  }
  json entry = {{"event", "datapoints"},
                {"product_id", product},
                {"device_name", device},
                {"id", id},
                {"payload", request.is_discarded() ? json(payload) : request}};
  if (!problem.empty()) entry["error"] = problem;
  log(entry);
  // OneNET's rejection says "Illegal Data" whatever the fault; the event log says which.
  const json answer =
      problem.empty()
          ? json{{"id", id}}
          : json{{"id", id}, {"err_code", kStreamIllegalData}, {"err_msg", "Illegal Data"}};
  publish(stream_topic_of(product, device,
                          problem.empty() ? onenet::model::StreamTopic::kPointsAccepted
                                          : onenet::model::StreamTopic::kPointsRejected),
          onenet::model::to_text(answer));
}

void Platform::handle_image(const onenet::model::StreamTopicParts& topic,
                            const std::string& payload) {
  using onenet::model::StreamTopic;
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  const bool update = topic.kind == StreamTopic::kImageUpdate;
  int code = 0;
  std::string message;
  json answer;
  json delta;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    DeviceState& s = state(product, device);
    if (!data_stream_product(product)) {
      // A OneJSON product has no image: its shadow is the desired values (section 4.2).
      code = kImageInvalid;
      message = "invalid parameters";
    } else if (update) {
      code = update_image(s.image, onenet::model::parse_json(payload), now_ms() / 1000, &message);
      if (code == 0) {
        answer = {{"version", s.image.version}, {"timestamp", s.image.timestamp}};
        delta = image_delta(s.image);
      }
    } else if (!payload.empty()) {
      // image/get's payload "must be empty" (the legacy MQTTS design document, 0x62).
      code = kStreamIllegalData;
      message = "illegal data";
    } else if (!s.image.exists) {
      code = kImageNotExists;
      message = "device image not exists";
    } else {
      answer = image_document(s.image);
    }
    s.last_time = now_ms();
  }
  json entry = {{"event", update ? "image_update" : "image_get"},
                {"product_id", product},
                {"device_name", device}};
  if (update) {
    const json request = onenet::model::parse_json(payload);
    entry["payload"] = request.is_discarded() ? json(payload) : request;
  }
  if (code != 0) entry["error"] = message;
  log(entry);
  if (code != 0) {
    publish(stream_topic_of(
                product, device,
                update ? StreamTopic::kImageUpdateRejected : StreamTopic::kImageGetRejected),
            onenet::model::to_text({{"err_code", code}, {"err_msg", message}}));
    return;
  }
  publish(
      stream_topic_of(product, device,
                      update ? StreamTopic::kImageUpdateAccepted : StreamTopic::kImageGetAccepted),
      onenet::model::to_text(answer));
  if (!delta.is_null())
    publish(stream_topic_of(product, device, StreamTopic::kImageUpdateDelta),
            onenet::model::to_text(delta));
}

int Platform::update_image_from_cloud(const std::string& product_id, const std::string& device_name,
                                      const json& request, json* document, std::string* message) {
  json delta;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    DeviceState::Image& image = state(product_id, device_name).image;
    const int code = update_image(image, request, now_ms() / 1000, message);
    if (code != 0) return code;
    *document = image_document(image);
    delta = image_delta(image);
  }
  log({{"event", "image_update"},
       {"product_id", product_id},
       {"device_name", device_name},
       {"by", "cloud"},
       {"payload", request}});
  if (delta.is_null()) return 0;
  // Sent whether or not the device is online, as a QoS 0 message: an absent device reads the
  // image at its next login instead (image/get).
  const std::string topic =
      stream_topic_of(product_id, device_name, onenet::model::StreamTopic::kImageUpdateDelta);
  if (publisher_) {
    publisher_(topic, onenet::model::to_text(delta));
  } else if (runner_) {
    (void)runner_->publish(topic, onenet::model::to_text(delta), onenet::codec::QoS::kAtMostOnce)
        .get();
  }
  return 0;
}

void Platform::handle_command_response(const onenet::model::StreamTopicParts& topic,
                                       const std::string& payload) {
  const std::string product(topic.product_id);
  const std::string device(topic.device_name);
  const std::string command_id(topic.command_id);
  int refusal = 0;
  std::string why;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const auto it = stream_commands_.find(command_id);
    if (it == stream_commands_.end() || it->second->device != device_key(product, device)) {
      refusal = kStreamUnknownCommand;
      why = "unknown cmdid";
    } else if (it->second->timed_out) {
      refusal = kStreamCommandTimedOut;
      why = "the command timed out";
    } else if (!it->second->waiting) {
      refusal = kStreamUnknownCommand;  // OneNET takes one response per command
      why = "the command was answered already";
    } else if (payload.size() > kMaxStreamResponseBytes) {
      refusal = kStreamResponseTooLarge;
      why = "response of " + std::to_string(payload.size()) + " bytes: at most 1023";
    } else {
      it->second->waiting = false;
      it->second->response = payload;
      replied_.notify_all();
    }
  }
  json entry = {{"event", "command_response"},
                {"product_id", product},
                {"device_name", device},
                {"cmd_uuid", command_id},
                {"bytes", payload.size()}};
  if (refusal != 0) entry["error"] = why;
  log(entry);
  // Accepted: an empty message (section 4.6). Rejected: shaped as dp/post/json/rejected, which
  // is onenet-local's guess: OneNET names the codes, not the shape.
  publish(stream_topic_of(product, device,
                          refusal == 0 ? onenet::model::StreamTopic::kCommandAccepted
                                       : onenet::model::StreamTopic::kCommandRejected,
                          command_id),
          refusal == 0 ? std::string()
                       : onenet::model::to_text({{"err_code", refusal}, {"err_msg", why}}));
}

StreamCommandResult Platform::stream_command(const std::string& product_id,
                                             const std::string& device_name,
                                             const std::string& payload,
                                             std::chrono::milliseconds timeout) {
  StreamCommandResult result;
  result.command_id = new_command_id();
  auto command = std::make_shared<PendingCommand>();
  command->device = device_key(product_id, device_name);
  {
    std::lock_guard<std::mutex> guard(mutex_);
    stream_commands_[result.command_id] = command;
  }
  log({{"event", "command"},
       {"product_id", product_id},
       {"device_name", device_name},
       {"cmd_uuid", result.command_id},
       {"bytes", payload.size()}});
  const std::string topic = stream_topic_of(
      product_id, device_name, onenet::model::StreamTopic::kCommandRequest, result.command_id);
  const auto published = runner_->publish(topic, payload, onenet::codec::QoS::kAtMostOnce).get();
  std::unique_lock<std::mutex> guard(mutex_);
  if (!published.ok()) {
    result.outcome = StreamCommandResult::kNotConnected;
  } else if (replied_.wait_for(guard, timeout, [&] { return !command->waiting; })) {
    result.outcome = StreamCommandResult::kResponded;
    result.response = std::move(command->response);
  } else {
    result.outcome = StreamCommandResult::kTimeout;
  }
  // Remembered, so that a late or second response is told why it is refused.
  command->waiting = false;
  command->timed_out = result.outcome != StreamCommandResult::kResponded;
  std::string().swap(command->response);
  finished_commands_.push_back(result.command_id);
  if (finished_commands_.size() > kMaxFinishedCommands) {
    stream_commands_.erase(finished_commands_.front());
    finished_commands_.erase(finished_commands_.begin());
  }
  return result;
}

}  // namespace onenet_local
