// A OneNET device speaking the thing model (OneJSON, onenet-protocol.md sections 3-4), or the
// data-stream protocol (data points and commands, section 4.6), over one client::Client. Host-side
// (heap, nlohmann/json); an MCU uses client::Client with model/topics.hpp and its own payloads.
//
// Threading: like the client, single-owner. poll() drives everything; callbacks run inside it
// and may call any member. On Linux, wrap it in platform::Runner-style code of your own, or call
// poll() from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "onenet/auth/token.hpp"
#include "onenet/client/client.hpp"
#include "onenet/model/image.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/model/topics.hpp"

namespace onenet::model {

/// The platform's answer to a request, or what the user answers to a command.
struct Reply {
  int code = 200;  ///< 200 = success (section 4.3); anything else is an error
  std::string msg = "success";
  nlohmann::json data;  ///< optional
};

/// A OneJSON request's "id" (a string, or a number written as one); "" when there is none.
std::string request_id(const nlohmann::json& request);

/// The id of a request whose JSON is broken ("id":"123" or "id":123 found in the text), so it
/// can still get an error reply; "" when none can be read.
std::string salvage_request_id(const std::string& text);

/// Whether `name` is a valid product id or device name: 1 to 64 letters, digits, '_' or '-'
/// (onenet-protocol.md section 6).
bool valid_name(std::string_view name);

/// Checks a cloud command's params before a handler sees them, as Device and gateway::Gateway
/// do: against `model` when there is one, else only their shape. `operation` is kPropertySet,
/// kPropertyGet or kServiceInvoke (with `service_id`). Returns "" or the problem, in words.
std::string check_command(const ThingModel* model, Operation operation,
                          const nlohmann::json& params, const std::string& service_id = {});

/// Checks the application's answer to a cloud command before it is sent, against `model` (no
/// model: ""). Only a success (code 200) carries data to check: a property/get's data must be
/// {"prop": value, ...} of the model's properties, a service's its output fields
/// (`service_id`). Returns "" or the problem, in words.
std::string check_reply(const ThingModel* model, Operation operation, const Reply& reply,
                        const std::string& service_id = {});

/// Checks one device's part of a pack/post or history/post (section 4.4) against `model`:
/// `properties` and `events` are objects of points, each {"value", "time"} (history: a list of
/// them). Returns "" or the problem, in words.
std::string check_batch_points(const ThingModel& model, const nlohmann::json& properties,
                               const nlohmann::json& events, bool history);

/// Whether `name` is a data stream's name OneNET takes: 1 to 30 letters, digits, '_', '.' or '$'
/// (onenet-protocol.md section 4.6).
bool valid_stream_name(std::string_view name);

/// Checks a dp/post/json "dp" object (section 4.6): {"stream": [{"v": value, "t": seconds},
/// ...], ...} with valid stream names, at least one point each, "v" in every point, and "t"
/// (optional) whole seconds from 0 to before 2100 (a later one is taken for milliseconds).
/// Returns "" or the problem, in words.
std::string check_datapoints(const nlohmann::json& dp);

/// The identifiers a property/get asks for (the strings of its params list).
std::vector<std::string> identifiers_of(const nlohmann::json& params);

/// Called once per request: kOk with the reply (check reply.code), or kModelReplyTimeout,
/// kModelBadReply, kClientNotConnected. A request travels at QoS 1: one the broker had not
/// acknowledged when the link dropped is sent again after the reconnect and waits on (its
/// deadline still runs); kClientNotConnected means the broker had it and the reply was lost with
/// the link, or the device stopped (disconnect(), or the link lost without auto_reconnect). After
/// kClientNotConnected or kModelReplyTimeout the request may have reached the cloud: a retry may
/// repeat it.
using ReplyCallback = std::function<void(Status status, const Reply& reply)>;

/// What the application does when the cloud asks. Every member runs inside Device::poll(), and
/// must not throw (see client::Handler).
/// The device sends the _reply itself, with the returned code, message and data. With a thing
/// model loaded, invalid commands are answered with an error and never reach these, and a
/// successful reply whose data the model refuses goes out as code 100 (a device-side failure,
/// section 4.3) with the problem as its msg, also kept in Device::last_error().
class CommandHandler {
 public:
  virtual ~CommandHandler() = default;
  // Defaults answer code 100, as the official SDKs do when they cannot comply. Inline on
  // purpose: sdk/ builds without RTTI, and applications that derive from this class need its
  // type information emitted on their side.
  /// property/set: `params` is {"prop": value, ...}, already checked when a model is loaded.
  virtual Reply on_property_set(const nlohmann::json& /*params*/) {
    return {100, "property set not supported", {}};
  }
  /// property/get: `identifiers` lists the wanted properties; return them in data.
  virtual Reply on_property_get(const std::vector<std::string>& /*identifiers*/) {
    return {100, "property get not supported", {}};
  }
  /// service/{id}/invoke: `input` is the service's input; return its output in data.
  virtual Reply on_service(const std::string& identifier, const nlohmann::json& /*input*/) {
    return {100, "service " + identifier + " not supported", {}};
  }
  /// ota/inform (only with DeviceOptions::ota_inform): the cloud has an OTA task for this
  /// device. `params` is the request's params as sent (OneNET documents none; onenet-local sends
  /// tid, type, target, size and md5), or null. The device answers on ota/inform_reply with the
  /// returned code and msg; OneNET expects that within 20 s (section 3), so answer at once and
  /// fetch the task over HTTP afterwards (provision::ApiClient::ota_check and ota_download).
  virtual Reply on_ota_inform(const nlohmann::json& /*params*/) {
    return {100, "OTA not supported", {}};
  }
  /// cmd/request/{cmdid} (DataProtocol::kDataStream): an application's command, `payload` as it
  /// sent it (JSON, text or binary). Return the response for cmd/response/{cmdid}: under 1 KB
  /// (section 4.6), any bytes; or std::nullopt to send none (the application's call then ends
  /// without one, at its timeout). `payload` is valid only during the call: copy what you keep.
  /// A response the client has no room for yet waits, as Device::answer's replies do.
  virtual std::optional<std::string> on_command(const std::string& /*command_id*/,
                                                std::string_view /*payload*/) {
    return std::nullopt;
  }
  /// What came of a response on_command returned: kOk with the cloud's verdict, {200,
  /// "accepted"} or its refusal {err_code, err_msg} (a second response to one command, for
  /// one); kModelInvalidValue when it was not sent (1 KB or more; last_error() says so).
  virtual void on_command_answered(const std::string& /*command_id*/, Status /*status*/,
                                   const Reply& /*outcome*/) {}
  /// image/update/delta (DataProtocol::kDataStream with DeviceOptions::device_image): the
  /// image's desired values differ from its reported ones. `delta` is the message as OneNET
  /// documents it: {"state": {"key": desired value, ...}, "metadata": {...}, "version": n,
  /// "timestamp": s}. Apply what you can, then report it with Device::update_image, which ends
  /// the difference. Only JSON objects reach this; anything else is skipped.
  virtual void on_image_delta(const nlohmann::json& /*delta*/) {}
  /// The link came up or went down (reason says why). Also called, while connected, with
  /// kClientSubscribeRefused when the cloud refused one of the device's subscriptions (thing/#;
  /// for data streams dp/post/json/+, cmd/# or image/#; ota/inform): until it is accepted, what
  /// comes on it (commands, replies, OTA notices) does not arrive; it is asked for again at
  /// every connection.
  virtual void on_connection(client::State /*state*/, Status /*reason*/) {}
  /// A message from the cloud could not be read (kClientMessageTooLarge: longer than the
  /// receive buffer): it is acknowledged and skipped, so no reply goes back for it. `topic`
  /// (empty when it did not fit either) is valid only during the call.
  virtual void on_message_dropped(std::string_view /*topic*/, Status /*reason*/) {}
};

/// Receives what a gateway handles on top of a device: the cloud's sub-device requests
/// (sub/property/get, sub/property/set, sub/service/invoke, sub/topo/change) and the link's
/// state. gateway::Gateway implements it; it runs inside Device::poll().
class GatewayListener {
 public:
  virtual ~GatewayListener() = default;
  /// A gateway downlink request; answer it with Device::answer(operation, id, reply).
  /// `request` is the parsed JSON (an object), or null when the payload was not JSON.
  virtual void on_gateway_request(Operation operation, const std::string& id,
                                  const nlohmann::json& request) = 0;
  virtual void on_gateway_state(client::State state, Status reason) = 0;
};

/// The data protocol of the device's product, chosen when the product is made in OneNET's
/// console: OneJSON (the thing model) or data streams (数据流).
enum class DataProtocol : uint8_t {
  kOneJson,     ///< properties, events, services, desired values, batches (thing/...)
  kDataStream,  ///< data points on dp/post/json, commands on cmd/... (section 4.6)
};

struct DeviceOptions {
  DataProtocol protocol = DataProtocol::kOneJson;
  std::string product_id;
  std::string device_name;
  std::string access_key;  ///< device key (Base64); a product key works too (section 7, Q3)
  auth::Method method = auth::Method::kSha256;
  uint32_t token_ttl_seconds = 24 * 3600;  ///< a fresh token is signed before every login
  uint16_t keep_alive_seconds = 120;
  uint32_t request_timeout_ms = 10000;
  size_t max_pending = 64;
  /// Borrowed; checked before sending and on commands. OneJSON only: a data-stream product has
  /// no thing model.
  const ThingModel* thing_model = nullptr;
  /// Also subscribe $sys/{pid}/{dev}/ota/inform (a second subscription of OneNET's 10): OTA
  /// notices reach CommandHandler::on_ota_inform.
  bool ota_inform = false;
  /// Data streams: also subscribe $sys/{pid}/{dev}/image/# (one more of OneNET's 10
  /// subscriptions), which carries the device image's answers and deltas: needed by
  /// Device::update_image, Device::get_image and CommandHandler::on_image_delta.
  bool device_image = false;
  /// Backoff and timeouts; the rest is filled in. With `large_messages_in_parts`, a command
  /// longer than Storage::rx is gathered on the heap, up to kMaxCommandBytes, and handled whole
  /// (a longer one goes to CommandHandler::on_message_dropped); without it, rx bounds commands.
  client::Options client;
};

/// Replies a Device keeps while the client has no room for them (see Device::answer).
constexpr size_t kMaxWaitingReplies = 64;

/// The longest command a Device gathers from parts: OneNET's payload limit (onenet-protocol.md
/// section 2.7).
constexpr size_t kMaxCommandBytes = 256 * 1024;

class Device : public client::Handler {
 public:
  /// `unix_seconds` is the wall clock tokens are signed against. All references are borrowed.
  Device(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
         port::HmacFunction hmac, uint64_t (*unix_seconds)(), const client::Storage& storage,
         CommandHandler& commands);

  /// Validates the options (key, names, OneNET rules) and starts connecting. kClientBusy until
  /// disconnect() when already started (the options in use stay as they are). kInvalidArgument
  /// for a token_ttl_seconds or request_timeout_ms of 0, or a product id or device name
  /// valid_name() refuses (last_error() says which); an auth status for a bad key, a client
  /// status for settings OneNET forbids.
  Status start(const DeviceOptions& options);
  /// Drives the client and expires requests whose reply is late.
  Status poll(uint32_t max_wait_ms);
  /// The rest of poll() after the client's, for a caller that polls the client itself (a
  /// runner): expires late requests and sends replies that waited for room.
  void expire_requests();
  /// Milliseconds until poll() has timed work: the client's, or the next request timeout.
  uint32_t next_timeout_ms();
  Status disconnect();
  client::State state() const { return client_.state(); }
  client::Client& client() { return client_; }

  /// property/post: `values` is {"prop": value, ...}; `time_ms` (optional, UTC ms) stamps them
  /// all. Returns the request id; kModelInvalidValue (see last_error()) before anything is sent.
  Result<std::string> post_properties(const nlohmann::json& values, ReplyCallback done,
                                      int64_t time_ms = 0);
  /// event/post: `output` is the event's output parameters.
  Result<std::string> post_event(const std::string& identifier, const nlohmann::json& output,
                                 ReplyCallback done, int64_t time_ms = 0);
  /// property/desired/get; the reply's data is {"prop": {"value": v, "version": n}}.
  Result<std::string> get_desired(const std::vector<std::string>& identifiers, ReplyCallback done);
  /// property/desired/delete; `versions` maps property -> version (or -1 for any version).
  /// With a thing model, both refuse a property it lacks (kModelInvalidValue, last_error()).
  Result<std::string> delete_desired(const std::map<std::string, int>& versions,
                                     ReplyCallback done);
  /// pack/post or history/post with `params` as section 4.4 shapes it. With a thing model, the
  /// device's own entries (no "identity", or its own) are checked against it
  /// (kModelInvalidValue); a gateway's sub-device entries are Gateway::report's to check.
  Result<std::string> post_batch(const nlohmann::json& params, bool history, ReplyCallback done);
  /// dp/post/json (DataProtocol::kDataStream): one point per stream, `values` being
  /// {"stream": value, ...} with any JSON values, stamped with `time_s` (Unix seconds; 0: the
  /// cloud stamps them on arrival). The reply is {200, "accepted"} or the cloud's refusal
  /// {err_code, err_msg}. kModelInvalidValue (see last_error()) before anything is sent for a
  /// stream name OneNET refuses (1 to 30 letters, digits, '_', '.' or '$'); kInvalidArgument on
  /// a OneJSON device.
  Result<std::string> post_datapoints(const nlohmann::json& values, ReplyCallback done,
                                      int64_t time_s = 0);
  /// dp/post/json with the "dp" object as section 4.6 shapes it: {"stream": [{"v": value,
  /// "t": seconds}, ...], ...}, "t" optional. Checked as post_datapoints, and for its shape.
  Result<std::string> post_datapoint_series(const nlohmann::json& dp, ReplyCallback done);
  /// image/update (DataProtocol::kDataStream with DeviceOptions::device_image): merges
  /// `reported` and/or `desired` (JSON objects; null: not sent, and one of them must be an
  /// object) into the device image, {"state": {"reported": ..., "desired": ...}}. The reply is
  /// {200, "accepted", data: the answer's JSON, or null} or the cloud's refusal {err_code,
  /// err_msg}. OneNET's image answers carry no id: they are matched to requests in the order
  /// sent, and the answer to a request that already timed out is recognised and dropped as long
  /// as the cloud answers every request (a cloud that skips one shifts the rest until the link
  /// drops). kInvalidArgument on a OneJSON device or with device_image off; kModelInvalidValue
  /// (see last_error()) for values that are not objects, break the image's limits
  /// (check_image_values, 4 KB in all), or hold text that is not UTF-8.
  Result<std::string> update_image(const nlohmann::json& reported, const nlohmann::json& desired,
                                   ReplyCallback done);
  /// image/get (an empty message): the reply's data is the image as the cloud holds it,
  /// {"state": {"desired": {...}, "reported": {...}}, ...}; or the refusal {err_code, err_msg}
  /// (167: the device has no image yet). Matched in order as update_image's answers are; a
  /// reply that is not a JSON object is kModelBadReply.
  Result<std::string> get_image(ReplyCallback done);
  /// Any uplink request with raw `params` (the building block of post_properties, post_event,
  /// get_desired, delete_desired and post_batch). OneJSON only, as they are: kInvalidArgument
  /// on a data-stream device.
  /// kInvalidArgument for a downlink, and for kTopoGetResult, which is not a request (see
  /// gateway::Gateway::get_topology).
  Result<std::string> request(Operation operation, nlohmann::json params, ReplyCallback done);

  /// Sends the "_reply" to a cloud request (`operation` is a downlink, `id` its request id).
  /// A reply the client has no room for now (transmit buffer or in-flight table full) waits,
  /// in order, and goes with a later poll: kOk either way. kModelTooManyPending when
  /// kMaxWaitingReplies already wait; kClientNotConnected without a link (the cloud has given
  /// up on the request by the time one is back).
  Status answer(Operation operation, const std::string& id, const Reply& reply,
                const std::string& service_id = {});
  /// Replies waiting for room in the client (see answer()).
  size_t waiting_replies() const { return waiting_replies_.size(); }
  /// Where gateway downlinks go (borrowed; null: they are ignored). Set before start().
  void set_gateway_listener(GatewayListener* listener) { gateway_ = listener; }
  /// Requests waiting for their reply.
  size_t pending() const { return pending_.size(); }

  /// Why the last call failed, in words (e.g. which value the thing model refused).
  const std::string& last_error() const { return last_error_; }

  // client::Handler
  void on_state(client::State state, Status reason) override;
  void on_message(const client::Message& message) override;
  void on_message_dropped(std::string_view topic, Status reason) override {
    commands_.on_message_dropped(topic, reason);
  }
  void on_subscribed(std::string_view filter, Status result, codec::QoS granted) override;
  void on_delivered(uint16_t packet_id, Status result) override;
  void before_connect(codec::Connect& connect) override;

 private:
  struct Pending {
    uint64_t deadline_ms = 0;
    ReplyCallback done;
    uint16_t packet_id = 0;  ///< of its PUBLISH (QoS 1)
    bool taken = false;      ///< the broker acknowledged it (PUBACK)
  };
  void answer_command(const TopicParts& topic, const std::string& payload);
  /// Fills in body's "id", sends it on `topic` at QoS 1 and keeps `done` for its answer.
  /// `content` names the member a caller's non-UTF-8 text is reported in.
  Result<std::string> send_request(const std::string& topic, nlohmann::json body,
                                   const char* content, ReplyCallback done);
  void send_reply(const TopicParts& topic, const std::string& id, const Reply& reply);
  void complete(const std::string& id, Status status, const Reply& reply);
  void send_waiting_replies();
  /// Publishes a reply now, or keeps it until the client has room (see answer()).
  Status send_or_wait(std::string topic, std::string payload);
  void answer_ota_inform(const std::string& payload);
  /// The data-stream protocol's downlinks: answers to data points and responses, commands.
  void on_stream_message(const StreamTopicParts& topic, const std::string& payload);
  void answer_stream_command(const std::string& command_id, std::string_view payload);
  /// Publishes an image request at QoS 1 and queues its key in `order` (see image_updates_).
  Result<std::string> send_image_request(StreamTopic kind, const std::string& payload,
                                         std::deque<std::string>& order, ReplyCallback done);
  /// An answer to the oldest image request in `order`: completes it, or drops the late answer
  /// of one that timed out.
  void complete_image_request(std::deque<std::string>& order, Status status, const Reply& reply);
  /// Subscribes filter_ ($sys/{pid}/{dev}/thing/#, or dp/post/json/+ for data streams),
  /// command_filter_ (cmd/#, data streams only), image_filter_ and ota_topic_ when
  /// DeviceOptions asks for them: together they carry every downlink.
  Status subscribe_downlinks();
  /// kOk when the device speaks `protocol`; else kInvalidArgument, with last_error() saying so.
  Status require_protocol(DataProtocol protocol);
  std::string next_id();

  client::Client client_;
  port::Clock& clock_;
  port::HmacFunction hmac_;
  uint64_t (*unix_seconds_)();
  CommandHandler& commands_;
  GatewayListener* gateway_ = nullptr;
  DeviceOptions options_;
  std::string token_;
  std::string filter_;
  std::string command_filter_;  ///< $sys/{pid}/{dev}/cmd/#, or "" (OneJSON)
  std::string ota_topic_;       ///< $sys/{pid}/{dev}/ota/inform, or "" (not asked for)
  std::string image_filter_;    ///< $sys/{pid}/{dev}/image/#, or "" (not asked for)
  /// The keys in pending_ of image requests, oldest first, whose answers (which carry no id) are
  /// still to come; a key no longer in pending_ timed out, and its late answer is dropped.
  std::deque<std::string> image_updates_;
  std::deque<std::string> image_gets_;
  uint64_t next_image_request_ = 0;
  bool subscription_refused_ = false;  ///< to be asked for again at the next connection
  std::string parts_;  ///< the parts so far of a message longer than rx (see DeviceOptions)
  struct WaitingReply {
    std::string topic;
    std::string payload;
  };
  std::deque<WaitingReply> waiting_replies_;
  std::string last_error_;
  std::map<std::string, Pending> pending_;
  uint64_t next_id_ = 0;
};

}  // namespace onenet::model
