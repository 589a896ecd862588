// A OneNET gateway: one MQTT connection carrying many sub-devices (onenet-protocol.md sections 3
// and 4.5). Host-side, like model::Device, which it is built on: the gateway is itself a device
// (its own properties and commands go through device()), and adds
//   - topology: bind (sub/topo/add, with each sub-device's sasToken signed here), unbind,
//     get (and the get/result answer), and the cloud's topo/change;
//   - sessions: sub-device login and logout, paced to `logins_per_second` because OneNET bans
//     bursts, and repeated for every sub-device by itself after the gateway reconnects;
//   - reporting: pack/post and history/post, split at OneNET's limits (10 devices and 100 points
//     per device per message; 100 values per point in a history);
//   - dispatch: sub/property/get, sub/property/set and sub/service/invoke go to the sub-device's
//     handler, and its answer goes back as the reply (unknown sub-devices get code 404).
//
// Threading: single owner, like Device. poll() drives everything; callbacks run inside it.
// Memory: each sub-device costs one SubDevice record (its ids, key and state, about 200 bytes
// with short names) plus one index entry; bench/bench_gateway measures it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "onenet/model/device.hpp"

namespace onenet::gateway {

/// A sub-device's identity and key (the key signs its sasToken for topo/add and topo/delete).
struct SubDeviceConfig {
  std::string product_id;
  std::string device_name;
  std::string access_key;
};

/// Where a sub-device stands, as far as this gateway knows.
enum class SubState : uint8_t {
  kUnknown,    ///< added here; binding unknown (call bind() or get_topology())
  kBound,      ///< in the gateway's topology, logged out
  kLoggingIn,  ///< sub/login sent or queued
  kOnline,     ///< logged in (the cloud answered 200)
  kRefused,    ///< the cloud refused bind or login (see SubDeviceHandler::on_state)
};

/// What the application does for one sub-device. Every member runs inside Gateway::poll().
/// The defaults answer code 100 (not supported), as the official SDKs do.
class SubDeviceHandler {
 public:
  virtual ~SubDeviceHandler() = default;
  virtual model::Reply on_property_set(const nlohmann::json& /*params*/) {
    return {100, "property set not supported", {}};
  }
  virtual model::Reply on_property_get(const std::vector<std::string>& /*identifiers*/) {
    return {100, "property get not supported", {}};
  }
  /// Return the service's output in `data`.
  virtual model::Reply on_service(const std::string& identifier, const nlohmann::json& /*input*/) {
    return {100, "service " + identifier + " not supported", {}};
  }
  /// The sub-device's state changed; `reply` carries the cloud's answer when it refused.
  virtual void on_state(SubState /*state*/, const model::Reply& /*reply*/) {}
};

/// The most sub-devices one gateway may have in OneNET's topology (onenet-protocol.md 4.5).
constexpr size_t kMaxSubDevices = 1500;

struct GatewayOptions {
  model::DeviceOptions device;  ///< the gateway's own identity and connection
  /// Sub/login requests per second (OneNET bans bursts); topo/add is paced the same way.
  uint32_t logins_per_second = 20;
  /// Requests of this gateway awaiting replies at once (logins, binds, reports).
  size_t max_in_flight = 32;
  auth::Method sas_token_method = auth::Method::kSha1;  ///< as OneNET's own SDKs sign them
  uint32_t sas_token_ttl_seconds = 3600;
  /// Thing models per sub-device product (borrowed): commands, reports and the handlers'
  /// replies are checked (a successful reply the model refuses goes out as code 100, with the
  /// problem as its msg and in Gateway::last_error()).
  std::map<std::string, const model::ThingModel*> thing_models;
};

/// One sub-device's data for pack/post or history/post: `properties` is {"prop": {"value": v,
/// "time": ms}} (history: {"prop": [{"value", "time"}, ...]}); `events` likewise.
struct SubReport {
  std::string product_id;
  std::string device_name;
  nlohmann::json properties = nlohmann::json::object();
  nlohmann::json events = nlohmann::json::object();
};

/// A report's outcome: kOk when every message of it was answered 200; else the first failure
/// (its reply carries the cloud's code and message).
using ReportCallback = std::function<void(Status status, const model::Reply& reply)>;

class Gateway : public model::GatewayListener {
 public:
  /// As model::Device; `commands` answers the gateway's own property/service requests.
  Gateway(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
          port::HmacFunction hmac, uint64_t (*unix_seconds)(), const client::Storage& storage,
          model::CommandHandler& commands);
  ~Gateway() override;

  /// Starts the gateway's own connection. kClientBusy when already started (nothing changes).
  /// kInvalidArgument for a zero pace, in-flight limit or sasToken lifetime,
  /// or when a sub-device added before is the gateway itself (last_error() says so); otherwise
  /// what Device::start returns (see device().last_error()).
  Status start(const GatewayOptions& options);
  /// Drives the connection, paces queued logins and binds, expires late replies.
  Status poll(uint32_t max_wait_ms);
  /// Milliseconds until poll() has timed work.
  uint32_t next_timeout_ms();
  Status disconnect();
  model::Device& device() { return device_; }

  /// Registers a sub-device (no traffic). `handler` is borrowed (null: default answers).
  /// kInvalidArgument for ids model::valid_name() refuses, the gateway itself, a duplicate or
  /// one past kMaxSubDevices (last_error() says which); auth statuses for a bad key.
  Status add(const SubDeviceConfig& config, SubDeviceHandler* handler = nullptr);
  /// Forgets a sub-device locally (no traffic; unbind() first to leave the topology).
  Status remove(const std::string& product_id, const std::string& device_name);

  /// Queues topo/add for the sub-device (paced); on success it is kBound.
  Status bind(const std::string& product_id, const std::string& device_name);
  /// Queues topo/delete; on success it is kUnknown (not in the topology).
  Status unbind(const std::string& product_id, const std::string& device_name);
  /// Queues sub/login; from now on the gateway keeps it logged in across reconnects.
  Status login(const std::string& product_id, const std::string& device_name);
  /// Queues sub/logout and stops logging it in again.
  Status logout(const std::string& product_id, const std::string& device_name);
  /// bind() then login() for every sub-device added; the usual start-up.
  void bind_and_login_all();

  /// topo/get: `done` gets the cloud's list; sub-devices added here are marked bound or not,
  /// and the gateway answers topo/get/result.
  /// (product_id, device_name) of each sub-device in the topology.
  using Topology = std::vector<std::pair<std::string, std::string>>;
  using TopologyCallback = std::function<void(Status status, const Topology&)>;
  Status get_topology(TopologyCallback done);
  /// Called after a topo/change from the cloud was applied (the new full list).
  void on_topology_change(TopologyCallback callback) { topology_changed_ = std::move(callback); }

  /// pack/post (history = false) or history/post for the sub-devices in `reports`, split into as
  /// many messages as OneNET's limits need. Entries for sub-devices not added here are refused
  /// (kInvalidArgument) before anything is sent; so are values a loaded thing model refuses
  /// (kModelInvalidValue, see last_error()).
  Status report(const std::vector<SubReport>& reports, bool history, ReportCallback done);

  SubState state(const std::string& product_id, const std::string& device_name) const;
  size_t size() const { return subs_.size(); }
  size_t online_count() const { return online_; }
  /// Logins and binds waiting for their turn.
  size_t queued() const { return queue_.size(); }
  const std::string& last_error() const { return last_error_; }
  /// Heap bytes held by the sub-device table, for the memory figure of bench_gateway.
  size_t table_bytes() const;

  // model::GatewayListener
  void on_gateway_request(model::Operation operation, const std::string& id,
                          const nlohmann::json& request) override;
  void on_gateway_state(client::State state, Status reason) override;

 private:
  struct Sub {
    SubDeviceConfig config;
    SubDeviceHandler* handler = nullptr;
    SubState state = SubState::kUnknown;
    bool wants_online = false;   ///< log in again after every reconnect
    bool login_pending = false;  ///< a login is queued or awaiting its reply
    bool bind_pending = false;   ///< a bind is queued or awaiting its reply
    bool removed = false;
  };
  enum class Work : uint8_t { kBind, kUnbind, kLogin, kLogout };
  struct Job {
    Work work;
    std::string key;  ///< "pid/name": looked up again when it runs (the sub may be gone)
  };

  Sub* find(const std::string& product_id, const std::string& device_name);
  const Sub* find(const std::string& product_id, const std::string& device_name) const;
  void set_state(Sub& sub, SubState state, const model::Reply& reply = {});
  void enqueue(Work work, Sub& sub);
  void drain_queue();
  Status send(const Job& job, Sub& sub);
  void finished(Work work, const std::string& key, Status status, const model::Reply& reply);
  static constexpr size_t kSasTokenCapacity =
      auth::max_token_length(auth::kMaxResourceLength, auth::kMaxVersionLength) + 1;
  Result<size_t> sign_sas_token(const SubDeviceConfig& config, char* out) const;
  Status sas_token(const SubDeviceConfig& config, std::string* out) const;
  void answer_sub_command(model::Operation operation, const std::string& id,
                          const nlohmann::json& request);
  /// Marks the sub-devices added here bound or not; returns the list as pairs.
  Topology apply_topology(const nlohmann::json& list);

  model::Device device_;
  port::Clock& clock_;
  port::HmacFunction hmac_;
  uint64_t (*unix_seconds_)();
  GatewayOptions options_;
  // Sub records live in a deque so pointers stay valid as sub-devices are added. A removed
  // record is emptied and kept for the next add(): a gateway whose sub-devices come and go for
  // months holds as many records as it ever had at once, not one per add().
  std::deque<Sub> storage_;
  std::vector<Sub*> free_records_;
  std::map<std::string, Sub*> subs_;  ///< "pid/name" -> record
  std::deque<Job> queue_;
  size_t in_flight_ = 0;
  size_t online_ = 0;
  uint64_t next_send_us_ = 0;  ///< pacing of logins and binds (microseconds of clock_)
  TopologyCallback topology_changed_;
  std::string last_error_;
};

}  // namespace onenet::gateway
