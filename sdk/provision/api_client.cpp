#include "onenet/provision/api_client.hpp"

#include <curl/curl.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "onenet/model/json_access.hpp"

namespace onenet::provision {
namespace {

using nlohmann::json;

// OneNET's "authentication failed" code (onenet-protocol.md section 5.1).
constexpr int kOneNetAuthFailed = 10403;
constexpr uint64_t kTokenLifetimeSeconds = 3600;

// OneNET's answers are pages of at most a few hundred records: kilobytes. A server sending more
// than this is not OneNET's API, and is cut off rather than allowed to fill memory.
constexpr size_t kMaxAnswerBytes = 16 * 1024 * 1024;

size_t append_body(char* data, size_t size, size_t count, void* target) {
  auto* body = static_cast<std::string*>(target);
  const size_t n = size * count;
  if (n > kMaxAnswerBytes - body->size()) return 0;  // libcurl stops: CURLE_WRITE_ERROR
  body->append(data, n);
  return n;
}

// Failures where the request may not have reached the server or its answer was lost: worth
// another attempt. Everything else (TLS verification, bad URL, HTTP answers) is final.
bool is_network_failure(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

Status status_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return Status::kTransportResolveFailed;
    case CURLE_OPERATION_TIMEDOUT:
      return Status::kProvisionTimeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return Status::kTlsVerifyFailed;
    case CURLE_SSL_CONNECT_ERROR:
      return Status::kTlsHandshakeFailed;
    default:
      return Status::kProvisionNetworkFailed;
  }
}

std::string text_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();  // OneNET sends `did` as a number in some answers, a string in others
}

DeviceInfo device_of(const json& data) {
  DeviceInfo d;
  d.product_id = text_of(data, "pid");
  d.name = text_of(data, "name");
  d.did = text_of(data, "did");
  d.key = text_of(data, "sec_key");
  d.desc = text_of(data, "desc");
  d.status = static_cast<int>(model::integer_member(data, "status", 0));
  d.create_time_ms = model::integer_member(data, "create_time", 0);
  d.last_time_ms = model::integer_member(data, "last_time", 0);
  return d;
}

}  // namespace

struct ApiClient::Curl {
  CURL* handle = nullptr;
  ~Curl() {
    if (handle) curl_easy_cleanup(handle);
  }
};

std::string query_escape(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : value) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::unique_ptr<ApiClient>> ApiClient::create(ApiOptions options) {
  const bool http = options.api_url.rfind("http://", 0) == 0;
  const bool https = options.api_url.rfind("https://", 0) == 0;
  if ((!http && !https) || options.resource.empty() || options.max_attempts == 0 ||
      options.hmac == nullptr) {
    return Status::kInvalidArgument;
  }
  while (!options.api_url.empty() && options.api_url.back() == '/') options.api_url.pop_back();
  // Sign once now so a bad key or resource is reported before any request.
  auth::TokenRequest probe;
  probe.resource = options.resource;
  probe.access_key = options.access_key;
  probe.version = options.token_version;
  probe.method = options.method;
  probe.expires_at = 1;
  const Result<size_t> length = auth::token_length(probe, options.hmac);
  if (!length) return length.status();

  // curl_global_init is not thread-safe before libcurl 7.84; a function-local static runs it
  // exactly once.
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) return Status::kInternalError;
  std::unique_ptr<ApiClient> client(new ApiClient(std::move(options)));
  client->curl_->handle = curl_easy_init();
  if (client->curl_->handle == nullptr) return Status::kInternalError;
  return client;
}

ApiClient::ApiClient(ApiOptions options)
    : options_(std::move(options)), curl_(std::make_unique<Curl>()) {}

ApiClient::~ApiClient() = default;

Status ApiClient::fail(Status status, int code, std::string message) {
  error_.status = status;
  error_.code = code;
  error_.message = std::move(message);
  return status;
}

Status ApiClient::call(const char* method, const std::string& path_and_query,
                       const std::string& body, std::string* data_json) {
  error_ = ApiError();
  auth::TokenRequest request;
  request.resource = options_.resource;
  request.access_key = options_.access_key;
  request.version = options_.token_version;
  request.method = options_.method;
  request.expires_at = static_cast<uint64_t>(std::time(nullptr)) + kTokenLifetimeSeconds;
  std::string token(auth::max_token_length(auth::kMaxResourceLength, auth::kMaxVersionLength) + 1,
                    '\0');
  const Result<size_t> signed_length =
      auth::sign_token(request, options_.hmac, token.data(), token.size());
  if (!signed_length) return fail(signed_length.status(), 0, to_string(signed_length.status()));
  token.resize(signed_length.value());

  CURL* h = curl_->handle;
  curl_easy_reset(h);
  const std::string url = options_.api_url + path_and_query;
  std::string response;
  char curl_message[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("authorization: " + token).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_message);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);  // never switched off
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());

  CURLcode code = CURLE_OK;
  uint32_t delay_ms = options_.backoff_ms;
  for (uint32_t attempt = 1;; ++attempt) {
    response.clear();
    curl_message[0] = '\0';
    ++attempts_;
    code = curl_easy_perform(h);
    if (code == CURLE_OK || !is_network_failure(code) || attempt >= options_.max_attempts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));  // backoff, not a sync
    delay_ms *= 2;
  }
  curl_slist_free_all(headers);
  if (code == CURLE_WRITE_ERROR) {
    return fail(Status::kProvisionBadResponse, 0,
                url + ": the answer is longer than " + std::to_string(kMaxAnswerBytes >> 20) +
                    " MiB, far beyond any of OneNET's; cut off");
  }
  if (code != CURLE_OK) {
    // The request URL is safe to show; the token only travels in a header.
    std::string why = curl_message[0] ? curl_message : curl_easy_strerror(code);
    return fail(status_of(code), 0, url + ": " + why);
  }
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  error_.http_status = static_cast<int>(http_status);
  const json answer = model::parse_json(response);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("code") ||
      !answer["code"].is_number_integer()) {
    return fail(Status::kProvisionBadResponse, 0,
                url + ": HTTP " + std::to_string(http_status) +
                    " without OneNET's JSON envelope {code, msg, data}");
  }
  const int api_code = answer["code"].get<int>();
  if (api_code != 0) {
    const std::string message = text_of(answer, "msg");
    return fail(api_code == kOneNetAuthFailed ? Status::kProvisionBadCredentials
                                              : Status::kProvisionApiError,
                api_code, message.empty() ? "error code " + std::to_string(api_code) : message);
  }
  if (data_json) *data_json = answer.contains("data") ? answer["data"].dump() : "null";
  return Status::kOk;
}

Status ApiClient::create_device(const std::string& product_id, const std::string& name,
                                const std::string& desc, DeviceInfo* out) {
  json body = {{"product_id", product_id}, {"device_name", name}};
  if (!desc.empty()) body["desc"] = desc;
  if (!model::is_utf8(body)) {
    return fail(Status::kInvalidArgument, 0, "product id, device name and desc must be UTF-8");
  }
  std::string data;
  const Status s = call("POST", "/device/create", body.dump(), &data);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  if (!parsed.is_object() || text_of(parsed, "sec_key").empty()) {
    return fail(Status::kProvisionBadResponse, 0, "device/create: no data.sec_key in the answer");
  }
  if (out) {
    *out = device_of(parsed);
    if (out->product_id.empty()) out->product_id = product_id;
    if (out->name.empty()) out->name = name;
  }
  return Status::kOk;
}

Status ApiClient::device_detail(const std::string& product_id, const std::string& name,
                                DeviceInfo* out) {
  std::string data;
  const Status s = call("GET",
                        "/device/detail?product_id=" + query_escape(product_id) +
                            "&device_name=" + query_escape(name),
                        {}, &data);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  if (!parsed.is_object()) {
    return fail(Status::kProvisionBadResponse, 0, "device/detail: no device in the answer");
  }
  if (out) {
    *out = device_of(parsed);
    if (out->product_id.empty()) out->product_id = product_id;
  }
  return Status::kOk;
}

Status ApiClient::list_devices(const std::string& product_id, std::vector<DeviceInfo>* out,
                               uint32_t page_size) {
  if (page_size == 0 || page_size > 100) page_size = 100;
  for (uint64_t offset = 0;;) {
    std::string data;
    const Status s = call("GET",
                          "/device/list?product_id=" + query_escape(product_id) + "&offset=" +
                              std::to_string(offset) + "&limit=" + std::to_string(page_size),
                          {}, &data);
    if (s != Status::kOk) return s;
    const json parsed = model::parse_json(data);
    if (!parsed.is_object() || !parsed.contains("list") || !parsed["list"].is_array()) {
      return fail(Status::kProvisionBadResponse, 0, "device/list: no data.list in the answer");
    }
    const json& list = parsed["list"];
    for (const json& item : list) {
      if (!item.is_object()) continue;
      out->push_back(device_of(item));
      if (out->back().product_id.empty()) out->back().product_id = product_id;
    }
    offset += list.size();
    const int64_t total = model::integer_member(parsed, "total", 0);
    // Stop at the reported total, or at a short page when the API gives no total.
    if (list.empty() ||
        (total > 0 ? offset >= static_cast<uint64_t>(total) : list.size() < page_size)) {
      return Status::kOk;
    }
  }
}

Status ApiClient::delete_device(const std::string& product_id, const std::string& name) {
  const json body = {{"product_id", product_id}, {"device_name", name}};
  if (!model::is_utf8(body)) {
    return fail(Status::kInvalidArgument, 0, "product id and device name must be UTF-8");
  }
  return call("POST", "/device/delete", body.dump(), nullptr);
}

}  // namespace onenet::provision
