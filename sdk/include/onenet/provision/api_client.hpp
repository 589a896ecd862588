// A client for OneNET's HTTP API (device create, detail, list, delete), for hosts: factory
// tools, provisioning scripts, the gateway's set-up. Not for microcontrollers: it uses the heap,
// libcurl and nlohmann/json (../../shared/onenet-protocol.md section 5.1).
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
//
// Blocking: every call blocks for at most about max_attempts x timeout_ms plus the backoff.
// Threads: one ApiClient per thread (it owns one libcurl handle and its connection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "onenet/auth/token.hpp"
#include "onenet/port.hpp"
#include "onenet/status.hpp"

namespace onenet::provision {

/// OneNET's production API.
inline constexpr const char* kDefaultApiUrl = "https://iot-api.heclouds.com";

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

  /// The last failure; status kOk after a success.
  const ApiError& last_error() const { return error_; }
  /// HTTP requests sent so far, retries included (for tools' statistics and tests).
  uint64_t attempts() const { return attempts_; }

 private:
  struct Curl;
  explicit ApiClient(ApiOptions options);
  Status call(const char* method, const std::string& path_and_query, const std::string& body,
              std::string* data_json);
  Status fail(Status status, int code, std::string message);

  ApiOptions options_;
  std::unique_ptr<Curl> curl_;
  ApiError error_;
  uint64_t attempts_ = 0;
};

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string query_escape(const std::string& value);

}  // namespace onenet::provision
