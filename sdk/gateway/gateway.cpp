#include "onenet/gateway/gateway.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "onenet/model/json_access.hpp"

namespace onenet::gateway {
namespace {

using model::Operation;
using model::Reply;
using nlohmann::json;

// onenet-protocol.md section 4.4: per pack/history message at most 10 devices, 100 points per
// device, and in a history at most 100 values per point.
constexpr size_t kMaxDevicesPerMessage = 10;
constexpr size_t kMaxPointsPerDevice = 100;
constexpr size_t kMaxValuesPerPoint = 100;

constexpr int kCodeOk = 200;
constexpr int kCodeBadRequest = 400;
constexpr int kCodeUnknownDevice = 404;
constexpr int kCodeDeviceFailure = 100;  // a device-side failure, as the official SDKs answer

std::string key_of(const std::string& product_id, const std::string& device_name) {
  return product_id + "/" + device_name;
}

json identity(const std::string& product_id, const std::string& device_name) {
  return {{"productID", product_id}, {"deviceName", device_name}};
}

}  // namespace

Gateway::Gateway(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
                 port::HmacFunction hmac, uint64_t (*unix_seconds)(),
                 const client::Storage& storage, model::CommandHandler& commands)
    : device_(transport, clock, random, hmac, unix_seconds, storage, commands),
      clock_(clock),
      hmac_(hmac),
      unix_seconds_(unix_seconds) {
  device_.set_gateway_listener(this);
}

Gateway::~Gateway() = default;

Status Gateway::start(const GatewayOptions& options) {
  if (device_.state() != client::State::kIdle) return Status::kClientBusy;  // as Device::start
  last_error_.clear();
  if (options.logins_per_second == 0 || options.max_in_flight == 0) return Status::kInvalidArgument;
  if (options.sas_token_ttl_seconds == 0) {  // every sasToken would expire as it is signed
    last_error_ = "sas_token_ttl_seconds: must be above 0";
    return Status::kInvalidArgument;
  }
  // add() can check this only once the gateway's identity is known: sub-devices added before
  // start() are checked here.
  const std::string self = key_of(options.device.product_id, options.device.device_name);
  if (subs_.count(self) != 0) {
    last_error_ = "sub-device " + self + " is the gateway itself";
    return Status::kInvalidArgument;
  }
  if (options.device.protocol != model::DataProtocol::kOneJson) {
    last_error_ =
        "device.protocol: gateways speak OneJSON (sub-devices, topology and batches "
        "are thing-model topics)";
    return Status::kInvalidArgument;
  }
  options_ = options;
  // Room for the paced work plus the reports sent beside it.
  options_.device.max_pending =
      std::max(options_.device.max_pending, options_.max_in_flight + 2 * kMaxDevicesPerMessage);
  return device_.start(options_.device);
}

Status Gateway::disconnect() {
  return device_.disconnect();
}

Gateway::Sub* Gateway::find(const std::string& product_id, const std::string& device_name) {
  const auto it = subs_.find(key_of(product_id, device_name));
  return it == subs_.end() ? nullptr : it->second;
}

const Gateway::Sub* Gateway::find(const std::string& product_id,
                                  const std::string& device_name) const {
  const auto it = subs_.find(key_of(product_id, device_name));
  return it == subs_.end() ? nullptr : it->second;
}

Status Gateway::add(const SubDeviceConfig& config, SubDeviceHandler* handler) {
  last_error_.clear();
  const std::string key = key_of(config.product_id, config.device_name);
  if (!model::valid_name(config.product_id) || !model::valid_name(config.device_name)) {
    last_error_ = "sub-device '" + key + "': product id and device name are 1 to 64 letters, " +
                  "digits, '_' or '-'";
    return Status::kInvalidArgument;
  }
  if (config.product_id == options_.device.product_id &&
      config.device_name == options_.device.device_name) {
    last_error_ = "sub-device " + key + " is the gateway itself";
    return Status::kInvalidArgument;
  }
  if (subs_.count(key) != 0) {
    last_error_ = "sub-device " + key + " was added already";
    return Status::kInvalidArgument;
  }
  if (subs_.size() >= kMaxSubDevices) {
    last_error_ = "sub-device " + key + ": a gateway has at most " +
                  std::to_string(kMaxSubDevices) + " sub-devices on OneNET";
    return Status::kInvalidArgument;
  }
  // The key signs sasTokens: sign one now rather than fail at the first bind.
  char token[kSasTokenCapacity];
  const Result<size_t> signed_token = sign_sas_token(config, token);
  if (!signed_token) return signed_token.status();
  Sub* record = nullptr;
  if (free_records_.empty()) {
    record = &storage_.emplace_back();
  } else {
    record = free_records_.back();
    free_records_.pop_back();
  }
  *record = Sub{config, handler};
  subs_.emplace(key, record);
  return Status::kOk;
}

Status Gateway::remove(const std::string& product_id, const std::string& device_name) {
  const auto it = subs_.find(key_of(product_id, device_name));
  if (it == subs_.end()) return Status::kInvalidArgument;
  if (it->second->state == SubState::kOnline) --online_;
  // The record stays (pointers into the deque must stay valid), unreachable until add() takes it
  // again. Swapped with an empty one, not assigned, so its strings' buffers (the key's among
  // them) are released now rather than kept for reuse.
  Sub emptied;
  emptied.removed = true;
  std::swap(*it->second, emptied);
  free_records_.push_back(it->second);
  subs_.erase(it);
  return Status::kOk;
}

SubState Gateway::state(const std::string& product_id, const std::string& device_name) const {
  const Sub* sub = find(product_id, device_name);
  return sub ? sub->state : SubState::kUnknown;
}

size_t Gateway::table_bytes() const {
  // Records, index nodes and the strings that do not fit in their small-string buffers.
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  size_t bytes = storage_.size() * sizeof(Sub) + free_records_.capacity() * sizeof(Sub*);
  for (const auto& [key, sub] : subs_) {
    bytes += sizeof(std::pair<const std::string, Sub*>) + 4 * sizeof(void*) + heap(key);
    bytes +=
        heap(sub->config.product_id) + heap(sub->config.device_name) + heap(sub->config.access_key);
  }
  return bytes;
}

void Gateway::set_state(Sub& sub, SubState state, const Reply& reply) {
  if (sub.state == state) return;
  if (sub.state == SubState::kOnline) --online_;
  if (state == SubState::kOnline) ++online_;
  sub.state = state;
  if (sub.handler) sub.handler->on_state(state, reply);
}

void Gateway::enqueue(Work work, Sub& sub) {
  if (work == Work::kLogin) sub.login_pending = true;
  if (work == Work::kBind) sub.bind_pending = true;
  queue_.push_back(Job{work, key_of(sub.config.product_id, sub.config.device_name)});
}

Status Gateway::bind(const std::string& product_id, const std::string& device_name) {
  Sub* sub = find(product_id, device_name);
  if (!sub) return Status::kInvalidArgument;
  enqueue(Work::kBind, *sub);
  return Status::kOk;
}

Status Gateway::unbind(const std::string& product_id, const std::string& device_name) {
  Sub* sub = find(product_id, device_name);
  if (!sub) return Status::kInvalidArgument;
  sub->wants_online = false;
  enqueue(Work::kUnbind, *sub);
  return Status::kOk;
}

Status Gateway::login(const std::string& product_id, const std::string& device_name) {
  Sub* sub = find(product_id, device_name);
  if (!sub) return Status::kInvalidArgument;
  sub->wants_online = true;
  if (!sub->login_pending && sub->state != SubState::kOnline) {
    set_state(*sub, SubState::kLoggingIn);
    enqueue(Work::kLogin, *sub);
  }
  return Status::kOk;
}

Status Gateway::logout(const std::string& product_id, const std::string& device_name) {
  Sub* sub = find(product_id, device_name);
  if (!sub) return Status::kInvalidArgument;
  sub->wants_online = false;
  enqueue(Work::kLogout, *sub);
  return Status::kOk;
}

void Gateway::bind_and_login_all() {
  // Logins follow each bind's success (finished()), so none races ahead of its topology entry.
  for (Sub& sub : storage_) {
    if (sub.removed) continue;
    sub.wants_online = true;
    if (sub.state == SubState::kOnline || sub.login_pending) continue;
    if (sub.state == SubState::kBound) {
      set_state(sub, SubState::kLoggingIn);
      enqueue(Work::kLogin, sub);
    } else if (!sub.bind_pending) {
      enqueue(Work::kBind, sub);
    }
  }
}

// A device token of the sub-device, signed with its own key (section 4.5), into `out`
// (kSasTokenCapacity bytes) without touching the heap: add() signs one per sub-device.
Result<size_t> Gateway::sign_sas_token(const SubDeviceConfig& config, char* out) const {
  char resource[auth::kMaxResourceLength + 1];
  const Result<size_t> resource_length =
      auth::device_resource(config.product_id, config.device_name, resource, sizeof resource);
  if (!resource_length) return resource_length.status();
  auth::TokenRequest request;
  request.resource = std::string_view(resource, resource_length.value());
  request.access_key = config.access_key;
  request.method = options_.sas_token_method;
  request.expires_at = unix_seconds_() + options_.sas_token_ttl_seconds;
  return auth::sign_token(request, hmac_, out, kSasTokenCapacity);
}

Status Gateway::sas_token(const SubDeviceConfig& config, std::string* out) const {
  char token[kSasTokenCapacity];
  const Result<size_t> n = sign_sas_token(config, token);
  if (!n) return n.status();
  out->assign(token, n.value());
  return Status::kOk;
}

Status Gateway::send(const Job& job, Sub& sub) {
  json params = identity(sub.config.product_id, sub.config.device_name);
  Operation op = Operation::kSubLogin;
  switch (job.work) {
    case Work::kBind:
    case Work::kUnbind: {
      op = job.work == Work::kBind ? Operation::kTopoAdd : Operation::kTopoDelete;
      std::string token;
      (void)sas_token(sub.config, &token);  // the key was checked by add()
      params["sasToken"] = token;
      break;
    }
    case Work::kLogin:
      op = Operation::kSubLogin;
      break;
    case Work::kLogout:
      op = Operation::kSubLogout;
      break;
  }
  const Work work = job.work;
  const std::string key = job.key;
  const Result<std::string> sent = device_.request(
      op, std::move(params),
      [this, work, key](Status status, const Reply& reply) { finished(work, key, status, reply); });
  if (sent) ++in_flight_;
  return sent.status();
}

void Gateway::finished(Work work, const std::string& key, Status status, const Reply& reply) {
  --in_flight_;
  const auto it = subs_.find(key);
  if (it == subs_.end()) return;  // removed meanwhile
  Sub& sub = *it->second;
  const bool accepted = status == Status::kOk && reply.code == kCodeOk;
  switch (work) {
    case Work::kBind:
      sub.bind_pending = false;
      if (accepted) {
        if (sub.state == SubState::kUnknown || sub.state == SubState::kRefused)
          set_state(sub, SubState::kBound);
        if (sub.wants_online && !sub.login_pending) {
          set_state(sub, SubState::kLoggingIn);
          enqueue(Work::kLogin, sub);
        }
      } else if (status == Status::kOk) {
        sub.wants_online = false;
        set_state(sub, SubState::kRefused, reply);
      } else if (device_.state() == client::State::kConnected) {
        enqueue(Work::kBind, sub);  // no answer in time: ask again
      }
      break;
    case Work::kUnbind:
      if (accepted) set_state(sub, SubState::kUnknown);
      break;
    case Work::kLogin:
      sub.login_pending = false;
      if (accepted) {
        // Online now, even when logout() was called meanwhile: its logout follows this login.
        set_state(sub, SubState::kOnline);
      } else if (status == Status::kOk) {
        sub.wants_online = false;
        set_state(sub, SubState::kRefused, reply);
      } else if (sub.wants_online && device_.state() == client::State::kConnected) {
        enqueue(Work::kLogin, sub);  // timed out: try again (a lost link re-queues on connect)
      } else if (sub.state == SubState::kLoggingIn) {
        set_state(sub, SubState::kBound);  // not asked again: not online as far as we know
      }
      break;
    case Work::kLogout:
      if (!accepted) break;
      if (sub.state == SubState::kOnline ||
          (sub.state == SubState::kLoggingIn && !sub.login_pending)) {
        set_state(sub, SubState::kBound);
      }
      // login() after logout(): it found the device online and queued nothing, so log in now.
      if (sub.wants_online && !sub.login_pending) {
        set_state(sub, SubState::kLoggingIn);
        enqueue(Work::kLogin, sub);
      }
      break;
  }
}

void Gateway::drain_queue() {
  if (device_.state() != client::State::kConnected) return;
  const uint64_t interval_us = 1000000 / options_.logins_per_second;
  while (!queue_.empty() && in_flight_ < options_.max_in_flight) {
    const uint64_t now_us = clock_.now_ms() * 1000;
    if (now_us < next_send_us_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    const auto it = subs_.find(job.key);
    if (it == subs_.end()) continue;
    if (send(job, *it->second) != Status::kOk) {
      queue_.push_front(std::move(job));  // the outbox is full: try on a later poll
      return;
    }
    // Pace from the later of now and the previous slot, so an idle gateway does not bank a
    // burst.
    next_send_us_ = std::max(now_us, next_send_us_) + interval_us;
  }
}

uint32_t Gateway::next_timeout_ms() {
  uint32_t due = device_.next_timeout_ms();
  if (!queue_.empty() && in_flight_ < options_.max_in_flight &&
      device_.state() == client::State::kConnected) {
    const uint64_t now_us = clock_.now_ms() * 1000;
    const uint64_t wait_ms = next_send_us_ > now_us ? (next_send_us_ - now_us + 999) / 1000 : 0;
    due = std::min<uint64_t>(due, wait_ms);
  }
  return due;
}

Status Gateway::poll(uint32_t max_wait_ms) {
  drain_queue();
  const uint32_t due = next_timeout_ms();
  const Status s = device_.poll(std::min(due, max_wait_ms));
  drain_queue();
  return s;
}

void Gateway::on_gateway_state(client::State state, Status /*reason*/) {
  if (state == client::State::kConnected) {
    // A new session: the cloud forgot every sub-device's login with the old one. One whose
    // binding is not confirmed (a bind's reply lost with the link, or a bind asked again after
    // a refusal) is bound first; its login follows the bind's success.
    for (Sub& sub : storage_) {
      if (sub.removed || !sub.wants_online) continue;
      if (sub.state == SubState::kUnknown || sub.state == SubState::kRefused) {
        if (!sub.bind_pending) enqueue(Work::kBind, sub);
      } else if (!sub.login_pending) {
        set_state(sub, SubState::kLoggingIn);
        enqueue(Work::kLogin, sub);
      }
    }
    next_send_us_ = 0;
    return;
  }
  if (state == client::State::kConnecting || state == client::State::kAwaitingConnack) return;
  for (Sub& sub : storage_) {
    if (sub.removed) continue;
    // A login still queued, or sent and not yet taken by the broker, goes out again once the
    // link is back: that sub-device stays kLoggingIn.
    if (sub.state == SubState::kOnline ||
        (sub.state == SubState::kLoggingIn && !sub.login_pending)) {
      set_state(sub, SubState::kBound);
    }
  }
}

Status Gateway::get_topology(TopologyCallback done) {
  auto request_id = std::make_shared<std::string>();
  const Result<std::string> sent = device_.request(
      Operation::kTopoGet, json::object(),
      [this, done, request_id](Status status, const Reply& reply) {
        Topology list;
        const bool answered = status == Status::kOk && reply.code == kCodeOk;
        if (answered) {
          list = apply_topology(reply.data);
          // The gateway confirms the synchronisation on topo/get/result (section 4.5).
          char topic[512];
          const Result<size_t> n =
              model::make_topic(topic, sizeof topic, options_.device.product_id,
                                options_.device.device_name, Operation::kTopoGetResult);
          const std::string body =
              json{{"id", *request_id}, {"code", kCodeOk}, {"msg", "success"}}.dump();
          if (n) {
            (void)device_.client().publish(std::string_view(topic, n.value()),
                                           std::string_view(body), codec::QoS::kAtMostOnce);
          }
        }
        if (done) {
          done(status == Status::kOk && !answered ? Status::kModelInvalidValue : status, list);
        }
      });
  if (!sent) return sent.status();
  *request_id = sent.value();
  return Status::kOk;
}

Gateway::Topology Gateway::apply_topology(const json& list) {
  Topology pairs;
  if (!list.is_array()) return pairs;
  std::set<std::string> bound;
  for (const json& item : list) {
    if (!item.is_object()) continue;
    pairs.emplace_back(model::string_member(item, "productID"),
                       model::string_member(item, "deviceName"));
    bound.insert(key_of(pairs.back().first, pairs.back().second));
  }
  for (auto& [key, sub] : subs_) {
    const bool is_bound = bound.count(key) != 0;
    if (is_bound && (sub->state == SubState::kUnknown || sub->state == SubState::kRefused)) {
      set_state(*sub, SubState::kBound);
    } else if (!is_bound && sub->state != SubState::kUnknown) {
      sub->wants_online = false;
      set_state(*sub, SubState::kUnknown);
    }
  }
  return pairs;
}

void Gateway::on_gateway_request(Operation operation, const std::string& id, const json& request) {
  if (request.is_null() || !request.contains("params") || !request["params"].is_object()) {
    if (!id.empty())
      (void)device_.answer(operation, id, Reply{kCodeBadRequest, "malformed request", {}});
    return;
  }
  if (operation == Operation::kTopoChange) {
    const json& params = request["params"];
    const json list = params.contains("subList") ? params["subList"] : json::array();
    const Topology pairs = apply_topology(list);
    (void)device_.answer(operation, id, Reply{kCodeOk, "success", {}});
    if (topology_changed_) topology_changed_(Status::kOk, pairs);
    return;
  }
  answer_sub_command(operation, id, request);
}

void Gateway::answer_sub_command(Operation operation, const std::string& id, const json& request) {
  const json& params = request["params"];
  const std::string product = model::string_member(params, "productID");
  const std::string name = model::string_member(params, "deviceName");
  Sub* sub = find(product, name);
  if (sub == nullptr) {
    (void)device_.answer(
        operation, id,
        Reply{kCodeUnknownDevice, "unknown sub-device " + key_of(product, name), {}});
    return;
  }
  SubDeviceHandler defaults;
  SubDeviceHandler& handler = sub->handler ? *sub->handler : defaults;
  const auto model_it = options_.thing_models.find(product);
  const model::ThingModel* model =
      model_it == options_.thing_models.end() ? nullptr : model_it->second;
  // The sub-device's request, in the device-level terms model::check_command knows.
  const bool is_service = operation == Operation::kSubServiceInvoke;
  const Operation as_device = operation == Operation::kSubPropertySet   ? Operation::kPropertySet
                              : operation == Operation::kSubPropertyGet ? Operation::kPropertyGet
                                                                        : Operation::kServiceInvoke;
  const std::string service =
      is_service ? model::string_member(params, "identifier") : std::string();
  const char* field = is_service ? "input" : "params";
  json values = params.contains(field) ? params[field] : json();
  if (is_service && values.is_null()) values = json::object();
  const std::string problem = model::check_command(model, as_device, values, service);
  Reply reply;
  if (problem.empty()) {
    if (operation == Operation::kSubPropertySet) {
      reply = handler.on_property_set(values);
    } else if (operation == Operation::kSubPropertyGet) {
      reply = handler.on_property_get(model::identifiers_of(values));
    } else {
      reply = handler.on_service(service, values);
    }
    const std::string wrong = model::check_reply(model, as_device, reply, service);
    if (!wrong.empty()) {
      last_error_ = key_of(product, name) + ": reply refused by the thing model: " + wrong;
      reply = Reply{kCodeDeviceFailure, last_error_, {}};
    }
    if (is_service) {
      // The reply names the sub-device and service around the output (section 4.5).
      reply.data = {{"productID", product},
                    {"deviceName", name},
                    {"identifier", service},
                    {"output", reply.data.is_null() ? json::object() : reply.data}};
    }
  }
  if (!problem.empty()) reply = Reply{kCodeBadRequest, problem, {}};
  (void)device_.answer(operation, id, reply);
}

Status Gateway::report(const std::vector<SubReport>& reports, bool history, ReportCallback done) {
  last_error_.clear();
  // Check everything before sending anything.
  for (const SubReport& r : reports) {
    if (find(r.product_id, r.device_name) == nullptr) {
      last_error_ = key_of(r.product_id, r.device_name) + " is not a sub-device of this gateway";
      return Status::kInvalidArgument;
    }
    if (!r.properties.is_object() || !r.events.is_object()) {
      last_error_ = key_of(r.product_id, r.device_name) + ": properties and events must be objects";
      return Status::kModelInvalidValue;
    }
    const auto model_it = options_.thing_models.find(r.product_id);
    if (model_it == options_.thing_models.end() || model_it->second == nullptr) continue;
    last_error_ = model::check_batch_points(*model_it->second, r.properties, r.events, history);
    if (!last_error_.empty()) return Status::kModelInvalidValue;
  }

  // Entries of at most 100 points (history: 100 values per point), then messages of at most
  // 10 entries with no device twice in one message.
  struct Entry {
    std::string key;
    json body;
  };
  std::vector<Entry> entries;
  for (const SubReport& r : reports) {
    const std::string key = key_of(r.product_id, r.device_name);
    json current;
    size_t points = 0;
    auto flush = [&] {
      if (points == 0) return;
      entries.push_back({key, std::move(current)});
      current = json();
      points = 0;
    };
    auto add_point = [&](const char* kind, const std::string& name, const json& value) {
      if (points == kMaxPointsPerDevice) flush();
      if (current.is_null()) {
        current = {{"identity", identity(r.product_id, r.device_name)},
                   {"properties", json::object()},
                   {"events", json::object()}};
      }
      current[kind][name] = value;
      ++points;
    };
    for (const char* kind : {"properties", "events"}) {
      const json& group = kind[0] == 'p' ? r.properties : r.events;
      for (auto it = group.begin(); it != group.end(); ++it) {
        if (!history || !it.value().is_array() || it.value().size() <= kMaxValuesPerPoint) {
          add_point(kind, it.key(), it.value());
          continue;
        }
        // A long history of one point: pieces of 100 values, each in its own entry.
        const json& values = it.value();
        for (size_t at = 0; at < values.size(); at += kMaxValuesPerPoint) {
          flush();
          const size_t end = std::min(values.size(), at + kMaxValuesPerPoint);
          add_point(kind, it.key(),
                    json(values.begin() + static_cast<std::ptrdiff_t>(at),
                         values.begin() + static_cast<std::ptrdiff_t>(end)));
        }
        flush();
      }
    }
    flush();
  }
  if (entries.empty()) {
    last_error_ = "nothing to report";
    return Status::kInvalidArgument;
  }
  // First fit: each entry goes to the first message with room and without its device, so a
  // device split into several entries does not cost a message of its own.
  std::vector<json> messages;
  std::vector<std::vector<std::string>> keys_in_message;
  size_t first_open = 0;  // messages before this one are full
  for (Entry& e : entries) {
    size_t m = first_open;
    for (; m < messages.size(); ++m) {
      const auto& keys = keys_in_message[m];
      if (keys.size() < kMaxDevicesPerMessage &&
          std::find(keys.begin(), keys.end(), e.key) == keys.end()) {
        break;
      }
    }
    if (m == messages.size()) {
      messages.push_back(json::array());
      keys_in_message.emplace_back();
    }
    messages[m].push_back(std::move(e.body));
    keys_in_message[m].push_back(e.key);
    while (first_open < messages.size() &&
           keys_in_message[first_open].size() == kMaxDevicesPerMessage) {
      ++first_open;
    }
  }
  if (device_.pending() + messages.size() > options_.device.max_pending) {
    last_error_ = "too many requests awaiting replies for " + std::to_string(messages.size()) +
                  " more messages";
    return Status::kModelTooManyPending;
  }

  // One callback for the whole report: the first failure, or success when all are answered.
  struct Tally {
    size_t remaining;
    Status status = Status::kOk;
    Reply reply;
    ReportCallback done;
  };
  auto tally = std::make_shared<Tally>();
  tally->remaining = messages.size();
  tally->done = std::move(done);
  auto settle = [tally](Status status, const Reply& reply) {
    if (tally->status == Status::kOk && (status != Status::kOk || reply.code != kCodeOk)) {
      tally->status = status != Status::kOk ? status : Status::kModelInvalidValue;
      tally->reply = reply;
    }
    if (--tally->remaining == 0 && tally->done) tally->done(tally->status, tally->reply);
  };
  const Operation op = history ? Operation::kHistoryPost : Operation::kPackPost;
  size_t sent_count = 0;
  for (json& message : messages) {
    const Result<std::string> sent = device_.request(op, std::move(message), settle);
    if (sent) {
      ++sent_count;
      continue;
    }
    if (sent_count == 0) return sent.status();  // nothing left the gateway: say so directly
    settle(sent.status(), Reply{});
  }
  return Status::kOk;
}

}  // namespace onenet::gateway
