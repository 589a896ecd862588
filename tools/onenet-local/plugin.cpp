// The mosquitto 2.0 plugin of onenet-local: OneNET's login check and rules, inside a real
// mosquitto (onenet-protocol.md sections 2.2-2.8).
//
// - Login: client id = device name, user name = product id, password = a token verified with
//   sdk/auth against the device key, or the product key (section 1.2). mosquitto 2.0 turns every
//   refusal from a plugin into CONNACK 5 on MQTT 3.1.1 (it has no way for a plugin to send 4);
//   the event log records the precise reason.
// - Rules (a break is logged, and answered as OneNET answers it): publish outside the device's
//   own $sys/{pid}/{dev}/ space, QoS 2, retain, payload above 256 KB -> disconnect; subscription
//   outside that space, with a wildcard before the fifth level, or beyond 10 -> SUBACK 0x80;
//   clean session 0 or keep-alive outside 10..1800 -> refused at login.
// - Login rate (section 2.7, Studio's use_limits.md): more than plugin_opt_login_limit logins of
//   one device within 5 s (default 10; 0: no limit) bans it for plugin_opt_ban_seconds (default
//   300). OneNET answers a banned device with a TCP reset; mosquitto's plugins can only refuse,
//   so onenet-local answers CONNACK 5, and the event log says "banned".
// - Publish rate (section 2.7, the legacy MQTTS table: more than 300 QoS 0 or 100 QoS 1
//   publishes in 5 s -> disconnect and a 5-minute ban): with plugin_opt_publish_limit_qos0 or
//   plugin_opt_publish_limit_qos1 above 0 (default 0: no limit, as Studio's limits only delay),
//   a device over either is disconnected and banned as above.
// - The platform process logs in as "$onenet-local" with a shared secret and may do anything.
// Options: plugin_opt_registry, plugin_opt_event_log, plugin_opt_secret, plugin_opt_platform_id,
// plugin_opt_state_dir (where presence is recorded, see registry.hpp), plugin_opt_login_limit,
// plugin_opt_ban_seconds, plugin_opt_publish_limit_qos0, plugin_opt_publish_limit_qos1.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "onenet/auth/token.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "registry.hpp"

namespace {

using nlohmann::json;
using onenet_local::Registry;

constexpr const char* kPlatformUser = "$onenet-local";
constexpr uint32_t kMaxPayload = 256 * 1024;
constexpr int kMaxSubscriptions = 10;
constexpr int64_t kLoginWindowMs = 5000;  // "logins per 5 s"

// One device's recent logins and publishes, for the limits.
struct LoginHistory {
  std::deque<int64_t> attempts;      // monotonic ms, within the last kLoginWindowMs
  std::deque<int64_t> publishes[2];  // by QoS (0, 1), monotonic ms, within the last 5 s
  int64_t banned_until = 0;          // monotonic ms; 0: not banned
  std::string ban_reason;            // "more than 10 logins in 5 s", ...
};

struct Identity {
  std::string product;
  std::string device;
};

struct Plugin {
  mosquitto_plugin_id_t* id = nullptr;
  std::string registry_path;
  std::string event_log;
  std::string secret;
  std::string platform_id = "onenet-local-platform";
  std::string state_dir;
  Registry registry;
  timespec registry_mtime{};
  std::map<const mosquitto*, Identity> sessions;  // authenticated device connections
  std::map<std::string, int> online;              // "pid/dev" -> live connections
  std::set<std::string> to_kick;                  // client ids, kicked at the next tick
  int login_limit = 10;                           // per device per 5 s; 0: none
  int publish_limits[2] = {0, 0};                 // per QoS (0, 1) per 5 s; 0: none
  int64_t ban_ms = 300 * 1000;
  std::map<std::string, LoginHistory> logins;  // "pid/dev" -> its recent logins
};

Plugin plugin;

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Keeps `stamp` in `recent` (dropping what is 5 s old) and says whether more than `limit` are
// left there.
bool over_limit(std::deque<int64_t>& recent, int64_t stamp, int limit) {
  while (!recent.empty() && stamp - recent.front() >= kLoginWindowMs) recent.pop_front();
  recent.push_back(stamp);
  return recent.size() > static_cast<size_t>(limit);
}

// Bans `history`'s device from now for plugin_opt_ban_seconds; returns what the log says.
std::string ban(LoginHistory& history, int64_t now, std::string reason) {
  history.attempts.clear();
  for (std::deque<int64_t>& recent : history.publishes) recent.clear();
  history.banned_until = now + plugin.ban_ms;
  history.ban_reason = std::move(reason);
  return "banned for " + std::to_string(plugin.ban_ms / 1000) + " s: " + history.ban_reason;
}

// Counts a login of `key` and says why it must be refused ("" when it may go on). Every
// attempt counts, whatever its token: a device retrying a bad token in a loop is banned too.
// Attempts while banned do not count, so the ban ends when it was set to.
std::string check_login_rate(const std::string& key) {
  const auto found = plugin.logins.find(key);
  if (plugin.login_limit <= 0 && found == plugin.logins.end()) return {};
  LoginHistory& history = found != plugin.logins.end() ? found->second : plugin.logins[key];
  const int64_t now = monotonic_ms();
  if (now < history.banned_until) {
    return "banned for " + std::to_string((history.banned_until - now + 999) / 1000) +
           " s more: " + history.ban_reason;
  }
  if (plugin.login_limit <= 0 || !over_limit(history.attempts, now, plugin.login_limit)) return {};
  return ban(history, now, "more than " + std::to_string(plugin.login_limit) + " logins in 5 s");
}

// Counts a publish of `key` at `qos` (0 or 1); "" while within the limit, else the ban it
// brings.
std::string check_publish_rate(const std::string& key, int qos) {
  const int limit = plugin.publish_limits[qos == 0 ? 0 : 1];
  if (limit <= 0) return {};
  LoginHistory& history = plugin.logins[key];
  const int64_t now = monotonic_ms();
  if (!over_limit(history.publishes[qos == 0 ? 0 : 1], now, limit)) return {};
  return ban(
      history, now,
      "more than " + std::to_string(limit) + " QoS " + std::to_string(qos) + " publishes in 5 s");
}

void log(json event) {
  event["ts"] = now_ms();
  event["source"] = "broker";
  onenet_local::log_event(plugin.event_log, onenet::model::to_text(event));
}

// Synchronous, so a device is online for the platform before it even sees its CONNACK (a
// message published to the platform would wait for the broker's next loop iteration).
void set_presence(const Identity& who, bool online) {
  onenet_local::write_presence(plugin.state_dir, who.product, who.device, online);
}

// Reads the registry again if the platform has rewritten it.
void reload_registry() {
  struct stat st {};
  if (::stat(plugin.registry_path.c_str(), &st) != 0) return;
  if (st.st_mtim.tv_sec == plugin.registry_mtime.tv_sec &&
      st.st_mtim.tv_nsec == plugin.registry_mtime.tv_nsec) {
    return;
  }
  std::string error;
  Registry fresh;
  if (!fresh.load(plugin.registry_path, &error)) {
    log({{"event", "error"}, {"message", error}});
    return;
  }
  plugin.registry = std::move(fresh);
  plugin.registry_mtime = st.st_mtim;
  // A device deleted over the HTTP API loses its connection, as on OneNET (its next login is
  // refused: unknown device). Kicked at the next tick.
  for (const auto& [client, who] : plugin.sessions) {
    if (plugin.registry.device(who.product, who.device) != nullptr) continue;
    log({{"event", "kick"},
         {"product_id", who.product},
         {"device_name", who.device},
         {"reason", "device deleted"}});
    plugin.to_kick.insert(who.device);
  }
}

// Which key signed the token: the device's, or (section 7 Q3) the product's.
onenet::Status check_token(const std::string& token, const onenet_local::Product& product,
                           const onenet_local::Device& device) {
  onenet::auth::ParsedToken parsed;
  onenet::Status s = onenet::auth::parse_token(token, &parsed);
  if (s != onenet::Status::kOk) return s;
  const std::string res(parsed.resource_view());
  const std::string device_res = "products/" + product.id + "/devices/" + device.name;
  const auto hmac = onenet::platform::default_hmac();
  const uint64_t now = onenet::platform::unix_seconds();
  if (res == device_res) {
    s = onenet::auth::verify_token(token, device.key, now, hmac);
    if (s == onenet::Status::kAuthTokenBadSignature)
      s = onenet::auth::verify_token(token, product.key, now, hmac);
    return s;
  }
  if (res == "products/" + product.id)
    return onenet::auth::verify_token(token, product.key, now, hmac);
  return onenet::Status::kAuthResourceInvalid;  // a token for another device or product
}

int on_basic_auth(int, void* event_data, void*) {
  auto* ed = static_cast<mosquitto_evt_basic_auth*>(event_data);
  const char* client_id = mosquitto_client_id(ed->client);
  const std::string id = client_id ? client_id : "";
  const std::string user = ed->username ? ed->username : "";
  const std::string password = ed->password ? ed->password : "";
  if (user == kPlatformUser) {
    const bool ok = !plugin.secret.empty() && password == plugin.secret && id == plugin.platform_id;
    return ok ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
  }
  reload_registry();
  json event = {{"event", "connect"}, {"product_id", user}, {"device_name", id}};
  auto refuse = [&](const std::string& reason) {
    event["result"] = "refused";
    event["reason"] = reason;
    event["connack"] = 5;
    log(event);
    return MOSQ_ERR_AUTH;
  };
  const onenet_local::Product* product = plugin.registry.product(user);
  const onenet_local::Device* device = plugin.registry.device(user, id);
  if (device != nullptr) {
    const std::string banned = check_login_rate(onenet_local::device_key(user, id));
    if (!banned.empty()) return refuse(banned);
  }
  if (!mosquitto_client_clean_session(ed->client)) return refuse("clean session must be 1");
  const int keepalive = mosquitto_client_keepalive(ed->client);
  if (keepalive < 10 || keepalive > 1800)
    return refuse("keep-alive " + std::to_string(keepalive) + " outside 10..1800");
  if (product == nullptr || device == nullptr) return refuse("unknown device");
  const onenet::Status token = check_token(password, *product, *device);
  if (token != onenet::Status::kOk) return refuse(onenet::to_string(token));
  // mosquitto keys sessions by client id, which OneNET makes the device name: a namesake from
  // another product would take this session over, and the two would kick each other for as
  // long as both reconnect. OneNET keeps them apart; onenet-local refuses the newcomer.
  for (const auto& [client, who] : plugin.sessions) {
    if (who.device == id && who.product != user) {
      return refuse("device name '" + id + "' is online in product " + who.product +
                    " (onenet-local keys MQTT sessions by client id)");
    }
  }

  event["result"] = "accepted";
  log(event);
  const Identity who{user, id};
  plugin.sessions[ed->client] = who;
  plugin.to_kick.erase(id);
  if (plugin.online[onenet_local::device_key(user, id)]++ == 0) set_presence(who, true);
  return MOSQ_ERR_SUCCESS;
}

int on_disconnect(int, void* event_data, void*) {
  auto* ed = static_cast<mosquitto_evt_disconnect*>(event_data);
  const auto it = plugin.sessions.find(ed->client);
  if (it == plugin.sessions.end()) return MOSQ_ERR_SUCCESS;
  const Identity who = it->second;
  plugin.sessions.erase(it);
  log({{"event", "disconnect"}, {"product_id", who.product}, {"device_name", who.device}});
  const std::string key = onenet_local::device_key(who.product, who.device);
  if (--plugin.online[key] <= 0) {
    plugin.online.erase(key);
    set_presence(who, false);
  }
  return MOSQ_ERR_SUCCESS;
}

bool under(const std::string& topic, const std::string& prefix) {
  return topic.size() > prefix.size() && topic.compare(0, prefix.size(), prefix) == 0;
}

int rule_break(const Identity& who, const std::string& rule, const std::string& topic,
               bool disconnect) {
  log({{"event", "rule_break"},
       {"product_id", who.product},
       {"device_name", who.device},
       {"rule", rule},
       {"topic", topic},
       {"action", disconnect ? "disconnect" : "suback 0x80"}});
  if (disconnect) plugin.to_kick.insert(who.device);
  return MOSQ_ERR_ACL_DENIED;
}

int on_acl_check(int, void* event_data, void*) {
  auto* ed = static_cast<mosquitto_evt_acl_check*>(event_data);
  const char* user = mosquitto_client_username(ed->client);
  if (user != nullptr && std::strcmp(user, kPlatformUser) == 0) return MOSQ_ERR_SUCCESS;
  const auto it = plugin.sessions.find(ed->client);
  if (it == plugin.sessions.end()) return MOSQ_ERR_ACL_DENIED;
  const Identity& who = it->second;
  const std::string topic = ed->topic ? ed->topic : "";
  const std::string prefix = "$sys/" + who.product + "/" + who.device + "/";
  if (plugin.to_kick.count(who.device)) return MOSQ_ERR_ACL_DENIED;  // on its way out

  switch (ed->access) {
    case MOSQ_ACL_WRITE:
      if (!under(topic, prefix))
        return rule_break(who, "publish outside the device's topics", topic, true);
      if (ed->qos > 1) return rule_break(who, "QoS 2 publish", topic, true);
      if (ed->retain) return rule_break(who, "retained publish", topic, true);
      if (ed->payloadlen > kMaxPayload) return rule_break(who, "payload above 256 KB", topic, true);
      if (const std::string banned =
              check_publish_rate(onenet_local::device_key(who.product, who.device), ed->qos);
          !banned.empty())
        return rule_break(who, banned, topic, true);
      return MOSQ_ERR_SUCCESS;
    case MOSQ_ACL_SUBSCRIBE: {
      if (!under(topic, prefix))
        return rule_break(who, "subscription outside the device's topics", topic, false);
      const char level4 = topic[prefix.size()];
      if (level4 == '+' || level4 == '#')
        return rule_break(who, "wildcard before the fifth level", topic, false);
      if (mosquitto_client_sub_count(ed->client) >= kMaxSubscriptions) {
        return rule_break(who, "more than 10 subscriptions", topic, false);
      }
      return MOSQ_ERR_SUCCESS;
    }
    case MOSQ_ACL_READ:
      return under(topic, prefix) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
    default:
      return MOSQ_ERR_SUCCESS;  // unsubscribe
  }
}

// Kicking inside an ACL callback would free a client mosquitto is still handling: kick here.
int on_tick(int, void*, void*) {
  reload_registry();  // devices deleted since go on to_kick
  for (const std::string& id : plugin.to_kick) mosquitto_kick_client_by_clientid(id.c_str(), false);
  plugin.to_kick.clear();
  return MOSQ_ERR_SUCCESS;
}

}  // namespace

extern "C" {

int mosquitto_plugin_version(int supported_version_count, const int* supported_versions) {
  for (int i = 0; i < supported_version_count; ++i) {
    if (supported_versions[i] == 5) return 5;
  }
  return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                          struct mosquitto_opt* options, int option_count) {
  plugin.id = identifier;
  *userdata = &plugin;
  for (int i = 0; i < option_count; ++i) {
    const std::string key = options[i].key;
    const std::string value = options[i].value;
    if (key == "registry") plugin.registry_path = value;
    if (key == "event_log") plugin.event_log = value;
    if (key == "secret") plugin.secret = value;
    if (key == "platform_id") plugin.platform_id = value;
    if (key == "state_dir") plugin.state_dir = value;
    // onenet-local's launcher checked both numbers.
    if (key == "login_limit") plugin.login_limit = std::atoi(value.c_str());
    if (key == "ban_seconds") plugin.ban_ms = int64_t{std::atoi(value.c_str())} * 1000;
    if (key == "publish_limit_qos0") plugin.publish_limits[0] = std::atoi(value.c_str());
    if (key == "publish_limit_qos1") plugin.publish_limits[1] = std::atoi(value.c_str());
  }
  if (plugin.registry_path.empty()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "onenet-local plugin: plugin_opt_registry is required");
    return MOSQ_ERR_INVAL;
  }
  reload_registry();
  mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, nullptr, nullptr);
  mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr, nullptr);
  mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, on_disconnect, nullptr, nullptr);
  mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, nullptr, nullptr);
  return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void*, struct mosquitto_opt*, int) {
  mosquitto_callback_unregister(plugin.id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, nullptr);
  mosquitto_callback_unregister(plugin.id, MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr);
  mosquitto_callback_unregister(plugin.id, MOSQ_EVT_DISCONNECT, on_disconnect, nullptr);
  mosquitto_callback_unregister(plugin.id, MOSQ_EVT_TICK, on_tick, nullptr);
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
