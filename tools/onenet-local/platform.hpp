// The cloud side of onenet-local: answers device requests, keeps the cloud's view of each
// device (latest properties, events, desired values, online state), and carries HTTP API
// commands to devices. It is an MQTT client of the broker with full rights (the plugin lets
// "$onenet-local" do anything), built on this SDK's own client and runner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "onenet/client/client.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/model/topics.hpp"
#include "onenet/platform/runner.hpp"
#include "onenet/platform/transport.hpp"
#include "registry.hpp"

namespace onenet_local {

/// What a device answered to a command, or why there is no answer.
struct CommandResult {
  enum Outcome { kReplied, kTimeout, kNotConnected } outcome = kTimeout;
  nlohmann::json reply;  ///< the device's {id, code, msg, data}
};

struct DeviceState {
  struct Value {
    nlohmann::json value;
    int64_t time = 0;
  };
  std::map<std::string, Value> properties;  ///< the latest (newest by time) of each
  /// Every reported value of each property by its time, oldest first, at most 1000 each.
  std::map<std::string, std::multimap<int64_t, nlohmann::json>> property_history;
  /// Records a reported value (property/post, pack/post, history/post): kept in the history,
  /// and the latest value when no newer one was reported.
  void record_property(const std::string& id, nlohmann::json value, int64_t time);
  std::vector<nlohmann::json> events;                             ///< newest last, at most 1000
  std::map<std::string, std::pair<nlohmann::json, int>> desired;  ///< value, version
  std::map<std::string, int> desired_versions;                    ///< last version per property
  // Desired values (section 4.2), one set of rules for the device's requests and the HTTP API.
  /// Keeps `value` as `id`'s desired value; returns its version (1, then one more each time).
  int set_desired(const std::string& id, nlohmann::json value);
  /// property/desired/get's data for `ids`: {"prop": {"value", "version"}} of those that have one.
  nlohmann::json desired_of(const std::vector<std::string>& ids) const;
  /// Clears `id`'s desired value, unless `version` (when not null) is not the latest: then the
  /// delete is a no-op. Cleared, the version starts again at 1.
  void delete_desired(const std::string& id, const nlohmann::json* version);
  bool sub_online = false;     ///< a sub-device logged in through its gateway
  int64_t sub_login_time = 0;  ///< Unix ms of that login: it counts only if after the gateway's
  int64_t last_time = 0;       ///< last request, Unix ms
  /// Data-stream products: each stream's points, oldest first, at most 1000 each.
  struct DataPoint {
    nlohmann::json value;
    int64_t time = 0;  ///< Unix seconds: the point's "t", or its arrival
  };
  std::map<std::string, std::vector<DataPoint>> streams;
  /// The device image (设备镜像, data-stream products, section 3): desired and reported
  /// values, when each key was last set, and a version that counts the updates.
  struct Image {
    bool exists = false;  ///< made by the first update, the device's or the cloud's
    nlohmann::json desired = nlohmann::json::object();
    nlohmann::json reported = nlohmann::json::object();
    nlohmann::json desired_times = nlohmann::json::object();   ///< key -> Unix seconds
    nlohmann::json reported_times = nlohmann::json::object();  ///< key -> Unix seconds
    int64_t version = 0;
    int64_t timestamp = 0;  ///< Unix seconds of the last update
  };
  Image image;
  std::string firmware_version;  ///< f_version reported to fuse-ota (section 5.5)
  std::string software_version;  ///< s_version
};

/// Device image rules, one set for image/update and the HTTP API. Merges `request`
/// ({"state": {"desired"?: {...}, "reported"?: {...}}}) into `image` at `now_s`: a key set to
/// null is removed. Returns 0, or the error code of section 3's table (160 illegal json, 163 no
/// state, 164 neither desired nor reported, 165 invalid parameters) with `*message` its text;
/// the image is then unchanged.
int update_image(DeviceState::Image& image, const nlohmann::json& request, int64_t now_s,
                 std::string* message);
/// The image as image/get/accepted sends it: {"state": {"desired", "reported"}, "metadata":
/// {"desired": {key: {"timestamp"}}, "reported": {...}}, "version", "timestamp"}.
nlohmann::json image_document(const DeviceState::Image& image);
/// image/update/delta's message (section 3): {"state": {key: desired value}, "metadata": {key:
/// {"timestamp"}}, "version", "timestamp"} for every desired key whose reported value differs
/// or is missing; null when there is none.
nlohmann::json image_delta(const DeviceState::Image& image);

/// What a data-stream device responded to a command (section 4.6), or why there is no response.
struct StreamCommandResult {
  enum Outcome { kResponded, kTimeout, kNotConnected } outcome = kTimeout;
  std::string command_id;
  std::string response;  ///< the device's bytes
};

/// An OTA task (fuse-ota, section 5.5): one package for one device. OneNET makes them in its
/// console; onenet-local through its own HTTP route (/local/ota/task).
struct OtaTask {
  std::string product_id;
  std::string device_name;
  int kind = 2;  ///< 1 firmware (f_version), 2 software (s_version): check's `type`
  std::string target;
  std::string package;
  std::string md5;  ///< of package, lower-case hex
  int status = 1;   ///< 1 pending, 2 downloading, 3 upgrading
  bool finished = false;
  int last_step = -1;
};

class Platform : public onenet::client::Handler {
 public:
  Platform(std::string registry_path, std::string event_log, std::string secret,
           std::string state_dir);
  ~Platform() override;

  /// Connects to the broker and subscribes; false after `timeout` without success.
  bool start(uint16_t mqtt_port, std::chrono::milliseconds timeout);
  void stop();

  /// Locks the registry for the caller's block.
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }
  Registry& registry() { return registry_; }  ///< with lock() held
  bool save_registry(std::string* error);     ///< with lock() held
  const onenet::model::ThingModel* thing_model(
      const std::string& product_id) const;  ///< with lock()
  void set_thing_model(const std::string& product_id, onenet::model::ThingModel model);
  /// How many sub-devices topo/add lets one gateway bind (OneNET's limit: 1500). Before start().
  void set_max_subdevices(size_t limit) { max_subdevices_ = limit; }
  DeviceState& state(const std::string& product_id,
                     const std::string& device_name);  ///< with lock()
  /// 1 online, 0 offline, 2 never connected. A sub-device is online while logged in through a
  /// gateway that is online. With lock() held.
  int presence(const std::string& product_id, const std::string& device_name,
               int64_t* last_ms = nullptr);

  /// Publishes a OneJSON request to a device (or, for a sub-device, through its gateway) and
  /// waits up to 5 s for its _reply. Call without the lock held.
  CommandResult command(const std::string& product_id, const std::string& device_name,
                        onenet::model::Operation operation, nlohmann::json params,
                        const std::string& service_id = {});

  /// Sends a data-stream device `payload` on cmd/request/{cmdid} (a fresh cmdid, a UUID) and
  /// waits up to `timeout` for its cmd/response/{cmdid}. Call without the lock held.
  StreamCommandResult stream_command(const std::string& product_id, const std::string& device_name,
                                     const std::string& payload, std::chrono::milliseconds timeout);

  /// What an application (OneNET's console) does to a device image: merges `request` as
  /// update_image does and, when desired and reported then differ, sends the device the delta.
  /// Returns 0 with the image in `*document`, or update_image's code and message. The caller
  /// has checked the device exists and speaks data streams. Call without the lock held.
  int update_image_from_cloud(const std::string& product_id, const std::string& device_name,
                              const nlohmann::json& request, nlohmann::json* document,
                              std::string* message);

  /// The cloud side of unbinding (what OneNET's console does): removes the sub-device from its
  /// gateway's topology and sends the gateway sub/topo/change with the remaining list. False
  /// when the device is not a sub-device. Call without the lock held.
  bool unbind_from_cloud(const std::string& product_id, const std::string& device_name);

  /// Keeps a new OTA task, finishing any unfinished one of the same device and kind (the new
  /// one replaces it); returns its tid. With lock() held.
  int64_t add_ota_task(OtaTask task);
  /// Ends a task: it is kept (its steps can no longer change it) without its package, so that
  /// finished tasks do not hold megabytes each. With lock() held.
  static void finish_ota_task(OtaTask& task);
  /// The task `tid`, or null. With lock() held.
  OtaTask* ota_task(int64_t tid);
  /// The unfinished task of a device for `kind`, or null; `*tid` gets its id. With lock() held.
  OtaTask* ota_task_for(const std::string& product_id, const std::string& device_name, int kind,
                        int64_t* tid);
  /// Tells task `tid`'s device, when it is online, on ota/inform (section 3); its inform_reply
  /// is logged ("ota_inform_reply"). Call without the lock held.
  void inform_ota(int64_t tid);

  void log(nlohmann::json event);

  /// Where the answers to devices go: by default the broker, through the platform's own client
  /// (from start() on). A test that calls on_message() itself, with no broker
  /// (tests/fuzz/fuzz_local_platform.cpp), takes them here instead: each answer is one call,
  /// on the thread that called on_message(). Set before start(), or instead of it.
  using Publisher = std::function<void(const std::string& topic, const std::string& payload)>;
  void publish_through(Publisher publisher) { publisher_ = std::move(publisher); }

  // Handler
  void on_message(const onenet::client::Message& message) override;
  void on_state(onenet::client::State state, onenet::Status reason) override;

 private:
  struct Pending {
    bool done = false;
    nlohmann::json reply;
  };

  void handle_request(const onenet::model::TopicParts& topic, const std::string& payload);
  nlohmann::json answer(const onenet::model::TopicParts& topic, const nlohmann::json& request);
  nlohmann::json answer_pack(const onenet::model::TopicParts& topic, const nlohmann::json& params,
                             bool history);
  nlohmann::json answer_topology(const onenet::model::TopicParts& topic,
                                 const nlohmann::json& params);
  void reply(const onenet::model::TopicParts& topic, const std::string& id, nlohmann::json body);
  void publish(const std::string& topic, const std::string& payload);
  void log_ota_inform_reply(std::string_view topic, const std::string& payload);
  /// dp/post/json: kept and answered on /accepted, or answered on /rejected (section 4.6).
  void handle_datapoints(const onenet::model::StreamTopicParts& topic, const std::string& payload);
  /// image/update and image/get (whose payload must be empty: else 98, illegal data): answered
  /// on /accepted or /rejected; an update that leaves desired and reported apart is followed by
  /// image/update/delta (section 3).
  void handle_image(const onenet::model::StreamTopicParts& topic, const std::string& payload);
  /// cmd/response/{cmdid}: handed to the waiting stream_command, or rejected.
  void handle_command_response(const onenet::model::StreamTopicParts& topic,
                               const std::string& payload);
  bool data_stream_product(const std::string& product_id) const;  ///< with lock()
  std::string next_request_id();

  std::string registry_path_;
  std::string event_log_;
  std::string secret_;
  std::string state_dir_;
  std::mutex mutex_;  // registry_, models_, states_, pending_
  std::condition_variable replied_;
  Registry registry_;
  std::map<std::string, onenet::model::ThingModel> models_;
  std::map<std::string, DeviceState> states_;
  std::map<std::string, std::shared_ptr<Pending>> pending_;  // request id -> waiter
  struct PendingCommand {
    std::string device;   ///< "pid/name" the command went to
    bool waiting = true;  ///< false once answered or timed out: a later response is rejected
    bool timed_out = false;
    std::string response;
  };
  std::map<std::string, std::shared_ptr<PendingCommand>> stream_commands_;  // cmdid -> command
  std::vector<std::string> finished_commands_;  // oldest first: forgotten beyond 1000
  uint64_t request_counter_ = 0;
  bool connected_ = false;
  size_t max_subdevices_ = 1500;  // topo/add's limit per gateway (set_max_subdevices)
  std::map<int64_t, OtaTask> ota_tasks_;
  int64_t next_ota_tid_ = 100001;

  Publisher publisher_;  // publish_through(); empty: the client below
  std::unique_ptr<onenet::platform::TcpTransport> transport_;
  onenet::platform::SystemClock clock_;
  std::unique_ptr<onenet::client::StaticStorage<600 * 1024, 600 * 1024, 64 * 1024, 64, 1024, 64>>
      storage_;
  std::unique_ptr<onenet::client::Client> client_;
  std::unique_ptr<onenet::platform::Runner> runner_;
};

}  // namespace onenet_local
