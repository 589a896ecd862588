// A client for OneNET's HTTP API (device create, detail, list, delete; OTA over HTTP; the thing
// model, desired values, property history and data streams from the application's side), for
// hosts: factory tools, provisioning scripts, the gateway's set-up, a Linux device's updates,
// test rigs that drive a device. Not for microcontrollers: it uses the heap, libcurl and
// nlohmann/json (../../shared/onenet-protocol.md section 5.1).
//
// Every request carries an `authorization` token signed with sdk/auth for the configured
// resource (user-level `userid/{id}` with version 2022-05-01 by default, or product-level
// `products/{pid}`). The token is made fresh for each request and is never logged.
//
// Errors: OneNET answers failures with HTTP 200 and a non-zero `code`. 10403 maps to
// Status::kProvisionBadCredentials; any other code to kProvisionApiError. In both cases
// last_error() keeps OneNET's code and message. Network failures (cannot resolve, cannot
// connect, connection dropped, timeout) are retried with exponential backoff up to
// `max_attempts`; nothing else is retried. An answer that is not OneNET's JSON envelope, or is
// longer than 16 MiB (it is cut off there, so memory stays bounded), is kProvisionBadResponse.
// A command to a device (set_device_properties, call_service, send_command) and a desired value
// (set_desired_properties) are retried only while nothing of the request was sent: a request
// whose answer was lost may have reached the device, and must not act twice.
//
// Blocking: every call blocks for at most about max_attempts x timeout_ms plus the backoff
// (send_command: plus the time it waits for the device).
// Threads: one ApiClient per thread (it owns one libcurl handle and its connection).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onenet/auth/token.hpp"
#include "onenet/port.hpp"
#include "onenet/status.hpp"

namespace onenet::provision {

/// OneNET's production API.
inline constexpr const char* kDefaultApiUrl = "https://iot-api.heclouds.com";
/// OneNET's legacy MQTTS API (data-stream products): device self-registration and the device
/// image (ApiClient::register_device, update_device_image). Plain HTTP, as OneNET serves it.
inline constexpr const char* kLegacyApiUrl = "http://api.heclouds.com";

struct ApiOptions {
  std::string api_url = kDefaultApiUrl;  ///< scheme://host[:port], no trailing path
  /// Token resource: "userid/{id}" (user-level) or "products/{pid}" (product-level).
  std::string resource;
  std::string access_key;  ///< Base64 key of that user or product; copied, never logged
  std::string token_version = std::string(auth::kVersion2022);
  auth::Method method = auth::Method::kSha256;
  std::string ca_file;          ///< extra CA bundle for https (empty: the system store)
  uint32_t timeout_ms = 10000;  ///< per attempt, connection set-up included
  uint32_t max_attempts = 3;    ///< network failures only
  uint32_t backoff_ms = 200;    ///< first retry delay; doubles each retry
  /// HMAC for the tokens; required (platform::default_hmac() on Linux).
  port::HmacFunction hmac = nullptr;
};

/// A device as OneNET describes it (`data` of device/create and device/detail).
struct DeviceInfo {
  std::string product_id;
  std::string name;
  std::string did;
  std::string key;  ///< `sec_key`: the device's access key (a secret: store it safely)
  std::string desc;
  int status = 0;  ///< 0 offline, 1 online, 2 never activated
  int64_t create_time_ms = 0;
  int64_t last_time_ms = 0;
};

/// Which software an OTA task updates (the `type` query of fuse-ota's check, section 5.5).
enum class OtaKind : int {
  kFirmware = 1,  ///< FOTA: the module's firmware (reported as f_version)
  kSoftware = 2,  ///< SOTA: the application (reported as s_version)
};

/// An OTA task as fuse-ota's check describes it (`data`).
struct OtaTask {
  std::string tid;     ///< the task id (a number on the wire, kept as its text)
  std::string target;  ///< the version the task installs
  uint64_t size = 0;   ///< bytes of the package
  std::string md5;     ///< the package's MD5, 32 hex digits
  int status = 0;      ///< 1 pending, 2 downloading, 3 upgrading
  int type = 0;        ///< 1 full package, 2 difference
};

/// A property's latest value as the cloud holds it (an entry of query-device-property's `data`).
struct PropertyValue {
  std::string identifier;
  std::string value_json;  ///< the value as JSON text: 21.5, true, "on", {"x":1}, [1,2]
  int64_t time_ms = 0;     ///< when the device reported it, ms since the epoch (0: not given)
  std::string name;        ///< the thing model's name for it, when the answer gives one
  std::string data_type;   ///< the thing model's type ("int32", "struct", ...), when given
};

/// One value a device reported of a property (an entry of query-device-property-history).
struct PropertyRecord {
  std::string value_json;  ///< as the answer gives it (OneNET may give numbers as text: "21.5")
  int64_t time_ms = 0;     ///< the value's time, ms since the epoch
};

/// Which of a property's reported values ApiClient::query_property_history asks for.
struct HistoryQuery {
  std::string identifier;
  int64_t start_ms = 0;       ///< from this time (inclusive), ms since the epoch
  int64_t end_ms = 0;         ///< to this time (inclusive)
  bool newest_first = false;  ///< the order (OneNET's sort: 1 oldest first, 2 newest first)
  uint32_t offset = 0;        ///< records of the range to skip (paging)
  uint32_t limit = 100;       ///< records in this page, 1 to 100
};

/// A data point of a data-stream product as history-datapoints gives it.
struct DataPoint {
  std::string value_json;  ///< the value as JSON text (a number, a string, an object, ...)
  int64_t time_ms = 0;     ///< ms since the epoch (`at_timestamp`, else `at` read as UTC+8)
};

/// One stream's points (an entry of history-datapoints' `datastreams`).
struct DataStreamPoints {
  std::string id;
  std::vector<DataPoint> points;
};

/// Which points ApiClient::query_datapoints asks for.
struct DatapointQuery {
  std::vector<std::string> streams;  ///< stream ids; empty: every stream of the device
  /// From this time, ms since the epoch; -1 asks for the newest point of each stream instead.
  int64_t start_ms = -1;
  int64_t end_ms = -1;  ///< to this time (with start_ms); -1: now
  bool newest_first = false;
  uint32_t limit = 100;  ///< points in all, 1 to 6000 (with start_ms)
};

/// A desired value the cloud holds for a property (section 4.2): what the device takes when it
/// next asks (property/desired/get, see model::Device::get_desired), with the version that
/// names this setting (1 for the first, one more for each new one; a delete starts it again).
struct DesiredValue {
  std::string identifier;
  std::string value_json;  ///< the value as JSON text
  int64_t version = 0;     ///< 0 when the answer gives none
};

/// Called while an OTA package downloads: bytes held so far (resumed bytes included) of `total`.
/// It runs inside ApiClient::ota_download, on the caller's thread, and must not throw (sdk/ is
/// built without exceptions and libcurl is C) nor call that ApiClient, whose one libcurl handle
/// is busy (report progress steps with a second ApiClient).
using OtaProgress = std::function<void(uint64_t received, uint64_t total)>;

/// Whether `version` is one fuse-ota takes: 1 to 20 of letters, digits, '_', '.' and '-'
/// (section 5.5).
bool valid_ota_version(const std::string& version);

/// The MD5 of `bytes` as fuse-ota gives a package's (OtaTask::md5): 32 lower-case hex digits.
std::string md5_hex(std::string_view bytes);

/// What went wrong on the last failed call: OneNET's `code` and `msg` when it answered, else
/// a description of the network or response failure.
struct ApiError {
  Status status = Status::kOk;
  int code = 0;         ///< OneNET's code; 0 when the failure happened before an answer
  int http_status = 0;  ///< 0 when no HTTP answer arrived
  std::string message;
};

class ApiClient {
 public:
  /// Checks the options (URL scheme, resource, key) without any network traffic.
  /// kInvalidArgument for a URL that is not http(s)://, an empty resource, zero attempts, no
  /// HMAC; the
  /// auth statuses for a bad key.
  static Result<std::unique_ptr<ApiClient>> create(ApiOptions options);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  /// POST /device/create. `desc` may be empty. On success `*out` holds the key (`sec_key`).
  Status create_device(const std::string& product_id, const std::string& name,
                       const std::string& desc, DeviceInfo* out);
  /// GET /device/detail.
  Status device_detail(const std::string& product_id, const std::string& name, DeviceInfo* out);
  /// GET /device/list, every page (`page_size` per request, at most 100), appended to `*out`.
  Status list_devices(const std::string& product_id, std::vector<DeviceInfo>* out,
                      uint32_t page_size = 100);
  /// POST /device/delete.
  Status delete_device(const std::string& product_id, const std::string& name);

  // OTA over HTTP (fuse-ota, onenet-protocol.md section 5.5). A device calls these with its own
  // token (resource products/{pid}/devices/{name}, version 2018-10-31); a product or user
  // token works too. The usual order: report the running versions, check for a task (also
  // when ota/inform arrives over MQTT, see model::CommandHandler::on_ota_inform), download it,
  // install it, report the steps (101 downloaded, 201 installed; 102-107 and 202-208 say why it
  // failed), and report the new version after the restart.

  /// POST /fuse-ota/{pid}/{name}/version: the versions running now. At least one is needed; an
  /// empty one is left out. kInvalidArgument for a version valid_ota_version() refuses.
  Status ota_report_version(const std::string& product_id, const std::string& name,
                            const std::string& firmware_version,
                            const std::string& software_version);
  /// GET /fuse-ota/{pid}/{name}/check: a task for `kind` from `current_version`. kOk with
  /// `*out` filled; kProvisionNoOtaTask when there is none (OneNET's 12012, "not exist").
  Status ota_check(const std::string& product_id, const std::string& name, OtaKind kind,
                   const std::string& current_version, OtaTask* out);
  /// GET /fuse-ota/{pid}/{name}/{tid}/check: kOk while the task is still to be carried out,
  /// kProvisionNoOtaTask once it is not (finished, cancelled or never existed).
  Status ota_task_active(const std::string& product_id, const std::string& name,
                         const std::string& tid);
  /// GET /fuse-ota/{pid}/{name}/{tid}/download into the file `path`, then checks the MD5.
  /// Resumable: bytes already in `path` (an earlier, interrupted download of the same task) are
  /// kept and the rest is asked for with a Range header; a dropped link is resumed the same way,
  /// up to max_attempts in a row without progress. When kept bytes turn out not to be this
  /// package's (the whole fails the MD5), it is fetched once more from the start. Blocks until
  /// done. A failure before any byte arrived leaves no file that was not there. Returns kOk with
  /// the whole package in `path`; kProvisionOtaChecksumMismatch when what the server sent fails
  /// the MD5 (the file is deleted);
  /// kProvisionNoOtaTask; kProvisionBadResponse for a server that sends more than task.size or
  /// ignores the range; kInvalidArgument for a task without tid, size or a 32-digit md5, or a
  /// path that cannot be written (last_error() says which).
  Status ota_download(const std::string& product_id, const std::string& name, const OtaTask& task,
                      const std::string& path, const OtaProgress& progress = nullptr);
  /// POST /fuse-ota/{pid}/{name}/{tid}/status with {"step": step}: 0-100 download progress
  /// (percent), 101 downloaded, 102-107 download failed, 201 installed, 202-208 install failed
  /// (section 5.5). kInvalidArgument for any other step.
  Status ota_report_step(const std::string& product_id, const std::string& name,
                         const std::string& tid, int step);

  // The thing model from the application's side (onenet-protocol.md section 5.1): what a cloud
  // application does to a device, and what a test rig or a developer does to one under
  // development. OneNET checks each command against the product's thing model and passes it to
  // the device over MQTT; the call waits for the device's reply (OneNET gives up after about
  // 5 s). A refusal (unknown identifier, a value out of range, the device offline or silent, the
  // device's own error reply) is kProvisionApiError with OneNET's code and message in
  // last_error(). `params_json` is JSON text, checked before anything is sent
  // (kInvalidArgument: not JSON, not an object, not UTF-8).

  /// GET /thingmodel/query-device-property: the latest value of each property the device has
  /// reported, appended to `*out`.
  Status query_device_properties(const std::string& product_id, const std::string& name,
                                 std::vector<PropertyValue>* out);
  /// GET /thingmodel/query-device-property-history: one page of the values the device
  /// reported of `query.identifier` from start to end (history/post's late values included, at
  /// their own times), appended to `*out`; `*total`, when not null, gets how many the range
  /// holds. kInvalidArgument for no identifier, a negative time, start after end, or a limit
  /// outside 1..100.
  Status query_property_history(const std::string& product_id, const std::string& name,
                                const HistoryQuery& query, std::vector<PropertyRecord>* out,
                                uint64_t* total = nullptr);
  /// POST /thingmodel/set-device-property with `params_json`, a non-empty object such as
  /// {"interval": 5}: kOk once the device has accepted the values (its property/set_reply).
  Status set_device_properties(const std::string& product_id, const std::string& name,
                               const std::string& params_json);
  /// POST /thingmodel/call-service: invokes the device's service `identifier` with the input
  /// `params_json` (an object; "" stands for {}) and, on kOk, puts the service's output (the
  /// reply's `data`, JSON text, "null" when there is none) in `*output_json` when not null.
  Status call_service(const std::string& product_id, const std::string& name,
                      const std::string& identifier, const std::string& params_json,
                      std::string* output_json);

  // Desired values: settings the cloud keeps for a device that may be offline (asleep, out of
  // reach); it reads them when it asks (property/desired/get), applies them, and deletes them
  // (property/desired/delete with the version it applied, so a newer setting made meanwhile
  // stays). No device takes part in these calls: they succeed while it is offline.

  /// POST /thingmodel/set-device-desired-property with `params_json`, a non-empty object such as
  /// {"interval": 30}: each property's desired value (checked by OneNET against the thing
  /// model: writable properties, their types and ranges). A property that had one gets the new
  /// value and the next version. Not retried once any of the request was sent (the version
  /// would move on twice).
  Status set_desired_properties(const std::string& product_id, const std::string& name,
                                const std::string& params_json);
  /// POST /thingmodel/query-device-desired-property: the desired values held among
  /// `identifiers` (at least one; kInvalidArgument otherwise), appended to `*out`. A property
  /// without one is not listed.
  Status query_desired_properties(const std::string& product_id, const std::string& name,
                                  const std::vector<std::string>& identifiers,
                                  std::vector<DesiredValue>* out);
  /// POST /thingmodel/delete-device-desired-property: clears the desired values of
  /// `identifiers` (at least one), whatever their version. Deleting one that has none is kOk.
  Status delete_desired_properties(const std::string& product_id, const std::string& name,
                                   const std::vector<std::string>& identifiers);

  // Data-stream products (section 4.6) from the application's side: the points a device posted
  // on dp/post/json, and a command to it on cmd/request/{cmdid}.

  /// GET /datapoint/history-datapoints: each stream's points, appended to `*out` (streams without
  /// a point in the range are not listed). Times travel as China Standard Time (UTC+8), as OneNET
  /// gives them. kInvalidArgument for an empty stream id or one with a comma (the ids travel as
  /// one comma-separated list), a negative time, a start after the end, or a limit outside
  /// 1..6000.
  Status query_datapoints(const std::string& product_id, const std::string& name,
                          const DatapointQuery& query, std::vector<DataStreamPoints>* out);
  /// POST /datapoint/synccmds: `command` (any bytes, at most 20 KB, section 4.6) to the online
  /// device; waits up to `timeout_s` (1 to 60) for its response, whose bytes go to `*response`.
  /// kOk once it responded; a device offline or silent is kProvisionApiError with OneNET's
  /// code. Not sent twice: the device would act twice. The call may block timeout_s plus the
  /// configured timeout_ms.
  Status send_command(const std::string& product_id, const std::string& name,
                      std::string_view command, uint32_t timeout_s, std::string* response);

  // OneNET's legacy MQTTS API (kLegacyApiUrl; onenet-protocol.md section 5.3), for data-stream
  // products. It answers {request_id, code, code_no, message, data}: "000000" is success
  // (OneNET's pages put it in code_no or in code), 000001 and 000002 (no or a bad token) are
  // kProvisionBadCredentials, anything else kProvisionApiError with the number as the code and
  // the error's name and message as the text.

  /// POST /mqtt/v1/devices/reg: a device registers itself with its product's key (ApiOptions
  /// resource "products/{pid}", the product key: "一型一密"). `desc` and `key` may be empty;
  /// `key`, when given, must be Base64 of at most 32 bytes (kInvalidArgument). OneNET answers a
  /// name it already has with that device, so a retry after a lost answer is safe. On success
  /// `*out` holds its product id, name, device id (did) and key.
  Status register_device(const std::string& name, const std::string& desc, const std::string& key,
                         DeviceInfo* out);
  /// PUT /mqtt/v1/devices/{device_id}/image/properties: merges `desired_json` and/or
  /// `reported_json` (JSON objects as text; empty: not sent, one is needed) into a data-stream
  /// device's image (section 3); an online device hears image/update/delta when they then
  /// differ. `*image_json` (optional) gets the image: {"state": {"desired", "reported"},
  /// "metadata", "version", "timestamp"}. kInvalidArgument for values that are not objects, or
  /// break the image's limits (model::check_image_values, 4 KB in all). Sent once only: a
  /// retry would count the version on twice.
  Status update_device_image(const std::string& device_id, const std::string& desired_json,
                             const std::string& reported_json, std::string* image_json);

  /// The last failure; status kOk after a success.
  const ApiError& last_error() const { return error_; }
  /// HTTP requests sent so far, retries included (for tools' statistics and tests).
  uint64_t attempts() const { return attempts_; }

 private:
  struct Curl;
  explicit ApiClient(ApiOptions options);
  /// Which failed attempts call() repeats: every network failure, or (a command that must not
  /// act twice) only those where nothing of the request was sent.
  enum class Retry { kNetworkFailures, kUntilSent };
  /// `content_type` names the body's; `timeout_ms`, when not 0, replaces the configured one
  /// for this call (a command waits for its device).
  Status call(const char* method, const std::string& path_and_query, const std::string& body,
              std::string* data_json, Retry retry = Retry::kNetworkFailures,
              const char* content_type = "application/json", uint32_t timeout_ms = 0);
  /// POST /thingmodel/{operation} with {product_id, device_name, params}: params_json checked
  /// (a non-empty object) before anything is sent, and nothing sent twice.
  Status post_property_values(const char* operation, const std::string& product_id,
                              const std::string& name, const std::string& params_json);
  /// A fresh authorization token, or a failure recorded in error_.
  Result<std::string> sign();
  /// The failure an answer's envelope carries (code != 0), as call() reports it.
  Status api_failure(int api_code, const std::string& message);
  /// Download requests from `*held` bytes on until the package is whole; see ota_download.
  Status fetch_rest(const std::string& url, const OtaTask& task, std::FILE* file, uint64_t* held,
                    const OtaProgress& progress);
  /// One download request from `*held` bytes on; see ota_download. `*retryable`: the link
  /// failed, and another request may resume.
  Status download_rest(const std::string& url, const OtaTask& task, std::FILE* file, uint64_t* held,
                       const OtaProgress& progress, bool* retryable);
  Status fail(Status status, int code, std::string message);

  ApiOptions options_;
  std::unique_ptr<Curl> curl_;
  ApiError error_;
  uint64_t attempts_ = 0;
};

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string query_escape(const std::string& value);

/// A time as OneNET's data-point API writes it: "YYYY-MM-DD HH:MM:SS" (with ".mmm" when
/// `with_ms`) in China Standard Time, UTC+8, the zone history-datapoints' `at` is in (its
/// `at_timestamp`, ms since the epoch, gives the same instant).
std::string china_time_text(int64_t ms_since_epoch, bool with_ms);
/// Reads "YYYY-MM-DD HH:MM:SS" with an optional ".mmm", a space or a 'T' between date and time,
/// as China Standard Time; false for anything else (a date that does not exist included).
bool parse_china_time(std::string_view text, int64_t* ms_since_epoch);

}  // namespace onenet::provision
