#include "onenet/provision/api_client.hpp"

#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "onenet/auth/encoding.hpp"
#include "onenet/model/image.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/ota/fuse_ota.hpp"  // ota::valid_version
#include "onenet/ota/md5.hpp"

namespace onenet::provision {
namespace {

using nlohmann::json;

// OneNET's "authentication failed" code (onenet-protocol.md section 5.1).
constexpr int kOneNetAuthFailed = 10403;
// fuse-ota's "not exist": no task to check or download (seen in community device code for the
// check endpoints, onenet-protocol.md section 5.5).
constexpr int kOneNetNoSuchTask = 12012;
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

// A reported value as JSON text (a string keeps its quotes); "null" when `j` has none.
std::string value_text(const json& j) {
  const json* value = model::member(j, "value");
  return value == nullptr ? "null" : value->dump();
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

// What the legacy MQTTS API's envelope says: {request_id, code, code_no, message, data}. A
// captured answer of /mqtt/v1/devices/reg has code_no "000000" and code
// "onenet_common_success"; the image API's page shows them the other way round, so "000000" in
// either is success.
struct LegacyOutcome {
  Status status = Status::kOk;
  int code = 0;
  std::string message;
};

LegacyOutcome read_legacy_envelope(const json& answer) {
  const std::string code_no = text_of(answer, "code_no");
  const std::string code = text_of(answer, "code");
  if (code_no == "000000" || code == "000000") return {};
  const auto digits = [](const std::string& text) {
    return !text.empty() && text.size() <= 9 &&
           text.find_first_not_of("0123456789") == std::string::npos;
  };
  const std::string& number = digits(code_no) ? code_no : code;
  const std::string& name = digits(code_no) ? code : code_no;
  if (!digits(number))
    return {Status::kProvisionBadResponse, 0, "a legacy envelope whose code_no is no number"};
  const int legacy_code = std::stoi(number);
  std::string message = name.empty() ? "error " + number : name;
  if (const std::string text = text_of(answer, "message"); !text.empty()) message += ": " + text;
  // 000001 and 000002: no token, or one that failed.
  return {legacy_code == 1 || legacy_code == 2 ? Status::kProvisionBadCredentials
                                               : Status::kProvisionApiError,
          legacy_code, message};
}

}  // namespace

struct ApiClient::Curl {
  CURL* handle = nullptr;
  ~Curl() {
    if (handle) curl_easy_cleanup(handle);
  }
};

namespace {

constexpr int64_t kChinaOffsetMs = 8 * 3600 * 1000;  // China Standard Time: UTC+8, no DST

// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (March-based years,
// so that the leap day ends a year).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool read_digits(std::string_view text, size_t at, size_t count, unsigned* out) {
  if (at + count > text.size()) return false;
  unsigned value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(text[i] - '0');
  }
  *out = value;
  return true;
}

}  // namespace

std::string china_time_text(int64_t ms_since_epoch, bool with_ms) {
  const int64_t local_ms = ms_since_epoch + kChinaOffsetMs;
  const int64_t days = (local_ms >= 0 ? local_ms : local_ms - 86399999) / 86400000;
  const int64_t ms_of_day = local_ms - days * 86400000;
  // The civil date of `days` (the inverse of days_from_civil).
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(z - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(year_of_era) + era * 400 + (month <= 2);
  char text[40];
  const int n = std::snprintf(
      text, sizeof text, "%04lld-%02u-%02u %02u:%02u:%02u", static_cast<long long>(year), month,
      day, static_cast<unsigned>(ms_of_day / 3600000),
      static_cast<unsigned>(ms_of_day / 60000 % 60), static_cast<unsigned>(ms_of_day / 1000 % 60));
  if (with_ms && n > 0)
    std::snprintf(text + n, sizeof text - n, ".%03u", static_cast<unsigned>(ms_of_day % 1000));
  return text;
}

bool parse_china_time(std::string_view text, int64_t* ms_since_epoch) {
  unsigned year, month, day, hour, minute, second, ms = 0;
  if (text.size() != 19 && text.size() != 23) return false;
  if (!read_digits(text, 0, 4, &year) || text[4] != '-' || !read_digits(text, 5, 2, &month) ||
      text[7] != '-' || !read_digits(text, 8, 2, &day) || (text[10] != ' ' && text[10] != 'T') ||
      !read_digits(text, 11, 2, &hour) || text[13] != ':' || !read_digits(text, 14, 2, &minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, &second))
    return false;
  if (text.size() == 23 && (text[19] != '.' || !read_digits(text, 20, 3, &ms))) return false;
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 59)
    return false;
  const int64_t days = days_from_civil(year, month, day);
  *ms_since_epoch =
      ((days * 24 + hour) * 60 + minute) * 60000 + int64_t{second} * 1000 + ms - kChinaOffsetMs;
  return true;
}

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

Result<std::string> ApiClient::sign() {
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
  return token;
}

Status ApiClient::api_failure(int api_code, const std::string& message) {
  const Status status = api_code == kOneNetAuthFailed   ? Status::kProvisionBadCredentials
                        : api_code == kOneNetNoSuchTask ? Status::kProvisionNoOtaTask
                                                        : Status::kProvisionApiError;
  return fail(status, api_code,
              message.empty() ? "error code " + std::to_string(api_code) : message);
}

Status ApiClient::call(const char* method, const std::string& path_and_query,
                       const std::string& body, std::string* data_json, Retry retry,
                       const char* content_type, uint32_t timeout_ms) {
  error_ = ApiError();
  const Result<std::string> token = sign();
  if (!token) return token.status();

  CURL* h = curl_->handle;
  curl_easy_reset(h);
  const std::string url = options_.api_url + path_and_query;
  std::string response;
  char curl_message[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("authorization: " + token.value()).c_str());
  headers = curl_slist_append(headers, (std::string("Content-Type: ") + content_type).c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) != "GET") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_message);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(timeout_ms != 0 ? timeout_ms : options_.timeout_ms));
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
    if (retry == Retry::kUntilSent) {
      // libcurl counts the request bytes it wrote in this transfer; none means the server cannot
      // have acted on it (nothing listened, the connection or its TLS set-up failed).
      long sent = 0;
      if (curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent != 0) break;
    }
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
  if (const json* legacy = answer.is_object() ? model::member(answer, "code_no") : nullptr;
      legacy != nullptr && legacy->is_string()) {
    const LegacyOutcome outcome = read_legacy_envelope(answer);
    if (outcome.status == Status::kProvisionBadResponse)
      return fail(outcome.status, 0,
                  url + ": HTTP " + std::to_string(http_status) + " with " + outcome.message);
    if (outcome.status != Status::kOk) return fail(outcome.status, outcome.code, outcome.message);
    if (data_json) *data_json = answer.contains("data") ? answer["data"].dump() : "null";
    return Status::kOk;
  }
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("code") ||
      !answer["code"].is_number_integer()) {
    return fail(Status::kProvisionBadResponse, 0,
                url + ": HTTP " + std::to_string(http_status) +
                    " without OneNET's JSON envelope {code, msg, data}");
  }
  const int api_code = answer["code"].get<int>();
  if (api_code != 0) return api_failure(api_code, text_of(answer, "msg"));
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

// ---- The thing model from the application's side (onenet-protocol.md section 5.1) ------------

namespace {

// A command's params as JSON text: "" stands for {}. Returns "" or the problem, in words.
std::string parse_params(const std::string& params_json, json* params) {
  *params = params_json.empty() ? json::object() : model::parse_json(params_json);
  // The parser also refuses strings that are not UTF-8, so what parses can be sent as it is.
  if (params->is_discarded()) return "params: not JSON (or not UTF-8)";
  return params->is_object() ? std::string() : "params: expected a JSON object";
}

}  // namespace

Status ApiClient::query_device_properties(const std::string& product_id, const std::string& name,
                                          std::vector<PropertyValue>* out) {
  std::string data;
  const Status s = call("GET",
                        "/thingmodel/query-device-property?product_id=" + query_escape(product_id) +
                            "&device_name=" + query_escape(name),
                        {}, &data);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  if (!parsed.is_array()) {
    return fail(Status::kProvisionBadResponse, 0,
                "query-device-property: no list of properties in the answer");
  }
  for (const json& item : parsed) {
    // An entry without an identifier names nothing; it is passed over, not guessed at.
    if (!item.is_object() || text_of(item, "identifier").empty()) continue;
    PropertyValue v;
    v.identifier = text_of(item, "identifier");
    v.value_json = value_text(item);
    v.time_ms = model::integer_member(item, "time", 0);
    v.name = text_of(item, "name");
    v.data_type = text_of(item, "data_type");
    if (out) out->push_back(std::move(v));
  }
  return Status::kOk;
}

Status ApiClient::query_property_history(const std::string& product_id, const std::string& name,
                                         const HistoryQuery& query,
                                         std::vector<PropertyRecord>* out, uint64_t* total) {
  error_ = ApiError();
  std::string problem;
  if (query.identifier.empty()) problem = "no property identifier";
  if (query.start_ms < 0 || query.end_ms < 0)
    problem = "times are ms since the epoch, not negative";
  if (query.start_ms > query.end_ms) problem = "the start is after the end";
  if (query.limit < 1 || query.limit > 100) problem = "limit: 1 to 100 records a page";
  if (!problem.empty())
    return fail(Status::kInvalidArgument, 0, "query-device-property-history: " + problem);
  std::string data;
  const Status s = call(
      "GET",
      "/thingmodel/query-device-property-history?product_id=" + query_escape(product_id) +
          "&device_name=" + query_escape(name) + "&identifier=" + query_escape(query.identifier) +
          "&start_time=" + std::to_string(query.start_ms) + "&end_time=" +
          std::to_string(query.end_ms) + "&sort=" + (query.newest_first ? "2" : "1") +
          "&offset=" + std::to_string(query.offset) + "&limit=" + std::to_string(query.limit),
      {}, &data);
  if (s != Status::kOk) return s;
  // data {total, list: [{time, value}]}; a bare list is taken too (some answers seen in
  // application code are one).
  const json parsed = model::parse_json(data);
  const json list = parsed.is_array() ? parsed : model::member_or(parsed, "list", json());
  if (!list.is_array()) {
    return fail(Status::kProvisionBadResponse, 0,
                "query-device-property-history: no list of records in the answer");
  }
  std::vector<PropertyRecord> found;
  for (const json& item : list) {
    // A record without a time says nothing of when: passed over, not guessed at.
    if (!item.is_object() || model::integer_member(item, "time", -1) < 0) continue;
    PropertyRecord r;
    r.value_json = value_text(item);
    r.time_ms = model::integer_member(item, "time", 0);
    found.push_back(std::move(r));
  }
  if (total) {
    const int64_t given = parsed.is_object() ? model::integer_member(parsed, "total", -1) : -1;
    *total = given >= 0 ? static_cast<uint64_t>(given) : found.size();
  }
  if (out) out->insert(out->end(), found.begin(), found.end());
  return Status::kOk;
}

Status ApiClient::set_device_properties(const std::string& product_id, const std::string& name,
                                        const std::string& params_json) {
  return post_property_values("set-device-property", product_id, name, params_json);
}

// set-device-property and set-device-desired-property: the same body, checked the same way, and
// neither sent twice (the device would act twice; the desired version would move on twice).
Status ApiClient::post_property_values(const char* operation, const std::string& product_id,
                                       const std::string& name, const std::string& params_json) {
  error_ = ApiError();
  json params;
  std::string problem = parse_params(params_json, &params);
  if (problem.empty() && params.empty()) problem = "params: no property to set";
  const json body = {{"product_id", product_id}, {"device_name", name}, {"params", params}};
  // As create_device: the body is checked whole (params parsed, so only the names can fail).
  if (problem.empty() && !model::is_utf8(body))
    problem = "product id and device name must be UTF-8";
  if (!problem.empty())
    return fail(Status::kInvalidArgument, 0, std::string(operation) + ": " + problem);
  return call("POST", std::string("/thingmodel/") + operation, body.dump(), nullptr,
              Retry::kUntilSent);
}

Status ApiClient::call_service(const std::string& product_id, const std::string& name,
                               const std::string& identifier, const std::string& params_json,
                               std::string* output_json) {
  error_ = ApiError();
  json params;
  std::string problem = parse_params(params_json, &params);
  if (problem.empty() && identifier.empty()) problem = "no service identifier";
  const json body = {{"product_id", product_id},
                     {"device_name", name},
                     {"identifier", identifier},
                     {"params", params}};
  if (problem.empty() && !model::is_utf8(body))
    problem = "product id, device name and identifier must be UTF-8";
  if (!problem.empty()) return fail(Status::kInvalidArgument, 0, "call-service: " + problem);
  return call("POST", "/thingmodel/call-service", body.dump(), output_json, Retry::kUntilSent);
}

Status ApiClient::set_desired_properties(const std::string& product_id, const std::string& name,
                                         const std::string& params_json) {
  return post_property_values("set-device-desired-property", product_id, name, params_json);
}

namespace {

// The body of a desired-value query or delete: the identifiers as params. "" or the problem.
std::string desired_body(const std::string& product_id, const std::string& name,
                         const std::vector<std::string>& identifiers, json* body) {
  if (identifiers.empty()) return "no property named";
  for (const std::string& id : identifiers) {
    if (id.empty()) return "an empty property identifier";
  }
  *body = {{"product_id", product_id}, {"device_name", name}, {"params", identifiers}};
  return model::is_utf8(*body) ? std::string()
                               : "product id, device name and identifiers must be UTF-8";
}

}  // namespace

Status ApiClient::query_desired_properties(const std::string& product_id, const std::string& name,
                                           const std::vector<std::string>& identifiers,
                                           std::vector<DesiredValue>* out) {
  error_ = ApiError();
  json body;
  const std::string problem = desired_body(product_id, name, identifiers, &body);
  if (!problem.empty())
    return fail(Status::kInvalidArgument, 0, "query-device-desired-property: " + problem);
  std::string data;
  const Status s = call("POST", "/thingmodel/query-device-desired-property", body.dump(), &data);
  if (s != Status::kOk) return s;
  // property/desired/get's data (section 4.2): {"prop": {"value": v, "version": n}}; none held
  // may come as an empty object or as no data at all.
  const json parsed = model::parse_json(data);
  if (parsed.is_null()) return Status::kOk;
  if (!parsed.is_object()) {
    return fail(Status::kProvisionBadResponse, 0,
                "query-device-desired-property: no object of desired values in the answer");
  }
  std::vector<DesiredValue> found;
  for (auto it = parsed.begin(); it != parsed.end(); ++it) {
    const auto value = it->is_object() ? it->find("value") : it->end();
    if (!it->is_object() || value == it->end()) {
      return fail(Status::kProvisionBadResponse, 0,
                  "query-device-desired-property: '" + it.key() + "' has no {\"value\"}");
    }
    DesiredValue v;
    v.identifier = it.key();
    v.value_json = value->dump();
    v.version = model::integer_member(*it, "version", 0);
    found.push_back(std::move(v));
  }
  if (out) out->insert(out->end(), found.begin(), found.end());
  return Status::kOk;
}

Status ApiClient::delete_desired_properties(const std::string& product_id, const std::string& name,
                                            const std::vector<std::string>& identifiers) {
  error_ = ApiError();
  json body;
  const std::string problem = desired_body(product_id, name, identifiers, &body);
  if (!problem.empty())
    return fail(Status::kInvalidArgument, 0, "delete-device-desired-property: " + problem);
  // A delete repeated after a lost answer clears nothing more, unless a new value was set in
  // the moment between: retried as a read is.
  return call("POST", "/thingmodel/delete-device-desired-property", body.dump(), nullptr);
}

// ---- Data-stream products (section 4.6) from the application's side --------------------------

Status ApiClient::query_datapoints(const std::string& product_id, const std::string& name,
                                   const DatapointQuery& query,
                                   std::vector<DataStreamPoints>* out) {
  error_ = ApiError();
  std::string problem;
  std::string ids;
  for (const std::string& id : query.streams) {
    if (id.empty() || id.find(',') != std::string::npos)
      problem = "stream ids: not empty, without a comma";
    ids += (ids.empty() ? "" : ",") + id;
  }
  const bool ranged = query.start_ms >= 0;
  if (query.start_ms < -1 || query.end_ms < -1) problem = "times are ms since the epoch";
  if (ranged && query.end_ms >= 0 && query.start_ms > query.end_ms)
    problem = "the start is after the end";
  if (query.limit < 1 || query.limit > 6000) problem = "limit: 1 to 6000 points";
  if (!problem.empty()) return fail(Status::kInvalidArgument, 0, "history-datapoints: " + problem);
  std::string path = "/datapoint/history-datapoints?product_id=" + query_escape(product_id) +
                     "&device_name=" + query_escape(name);
  if (!ids.empty()) path += "&datastream_id=" + query_escape(ids);
  if (ranged) {
    // Seconds are the API's precision; the end's second is taken whole.
    const int64_t end_ms =
        query.end_ms >= 0 ? query.end_ms : static_cast<int64_t>(std::time(nullptr)) * 1000 + 999;
    std::string start = china_time_text(query.start_ms, false);
    std::string end = china_time_text(end_ms, false);
    start[10] = end[10] = 'T';
    path += "&start=" + start + "&end=" + end + "&limit=" + std::to_string(query.limit) +
            "&sort=" + (query.newest_first ? "DESC" : "ASC");
  }
  std::string data;
  const Status s = call("GET", path, {}, &data);
  if (s != Status::kOk) return s;
  // data {count, datastreams: [{id, datapoints: [{at, at_timestamp, value}]}]}
  const json parsed = model::parse_json(data);
  const json streams = model::member_or(parsed, "datastreams", json());
  if (!streams.is_array()) {
    return fail(Status::kProvisionBadResponse, 0,
                "history-datapoints: no list of datastreams in the answer");
  }
  std::vector<DataStreamPoints> found;
  for (const json& stream : streams) {
    const json points = model::member_or(stream, "datapoints", json());
    if (text_of(stream, "id").empty() || !points.is_array()) {
      return fail(Status::kProvisionBadResponse, 0,
                  "history-datapoints: a stream without an id or a list of datapoints");
    }
    DataStreamPoints entry;
    entry.id = text_of(stream, "id");
    for (const json& point : points) {
      DataPoint p;
      p.time_ms = model::integer_member(point, "at_timestamp", -1);
      const json at = model::member_or(point, "at", json());
      if (p.time_ms < 0 &&
          !(at.is_string() && parse_china_time(at.get<std::string>(), &p.time_ms))) {
        return fail(Status::kProvisionBadResponse, 0,
                    "history-datapoints: a point of " + entry.id + " without a time");
      }
      p.value_json = value_text(point);
      entry.points.push_back(std::move(p));
    }
    found.push_back(std::move(entry));
  }
  if (out) out->insert(out->end(), found.begin(), found.end());
  return Status::kOk;
}

Status ApiClient::send_command(const std::string& product_id, const std::string& name,
                               std::string_view command, uint32_t timeout_s,
                               std::string* response) {
  error_ = ApiError();
  std::string problem;
  if (command.empty()) problem = "an empty command";
  if (command.size() > 20 * 1024) problem = "a command above 20 KB (section 4.6)";
  if (timeout_s < 1 || timeout_s > 60) problem = "timeout: 1 to 60 seconds";
  if (!problem.empty()) return fail(Status::kInvalidArgument, 0, "synccmds: " + problem);
  std::string data;
  // The HTTP wait covers the device's: the answer comes once it responded or gave up.
  const Status s =
      call("POST",
           "/datapoint/synccmds?product_id=" + query_escape(product_id) +
               "&device_name=" + query_escape(name) + "&timeout=" + std::to_string(timeout_s),
           std::string(command), &data, Retry::kUntilSent, "application/octet-stream",
           options_.timeout_ms + timeout_s * 1000);
  if (s != Status::kOk) return s;
  // data {cmd_uuid, cmd_resp}: the response's bytes in Base64.
  const json parsed = model::parse_json(data);
  const json coded = model::member_or(parsed, "cmd_resp", json());
  if (!coded.is_string())
    return fail(Status::kProvisionBadResponse, 0, "synccmds: no cmd_resp in the answer");
  const std::string& text = coded.get_ref<const std::string&>();
  std::string bytes(auth::base64_decoded_max_length(text.size()), '\0');
  const auto n = auth::base64_decode(text, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  if (!n) return fail(Status::kProvisionBadResponse, 0, "synccmds: cmd_resp is not Base64");
  bytes.resize(n.value());
  if (response) *response = std::move(bytes);
  return Status::kOk;
}

// ---- OTA over HTTP (fuse-ota, onenet-protocol.md section 5.5) ---------------------------------

bool valid_ota_version(const std::string& version) {
  return ota::valid_version(version);  // one rule for hosts and MCUs
}

namespace {

std::string ota_path(const std::string& product_id, const std::string& name) {
  return "/fuse-ota/" + query_escape(product_id) + "/" + query_escape(name);
}

}  // namespace

std::string md5_hex(std::string_view bytes) {
  ota::Md5 md5;
  md5.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  char hex[33];
  md5.hex_digest(hex);
  return hex;
}

namespace {

bool is_md5_hex(const std::string& text) {
  if (text.size() != 32) return false;
  for (const char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The MD5 of the first `size` bytes of `file`, lower-case hex; "" when it cannot be read.
std::string md5_of(std::FILE* file, uint64_t size) {
  if (std::fseek(file, 0, SEEK_SET) != 0) return {};
  ota::Md5 md5;
  uint8_t buffer[16384];
  for (uint64_t left = size; left > 0;) {
    const size_t want = left < sizeof buffer ? static_cast<size_t>(left) : sizeof buffer;
    const size_t n = std::fread(buffer, 1, want, file);
    if (n == 0) return {};
    md5.update(buffer, n);
    left -= n;
  }
  char hex[33];
  md5.hex_digest(hex);
  return hex;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Where the bytes of one download request go: the package file, or (an error answer, which
// comes as OneNET's JSON envelope) a bounded buffer.
struct DownloadSink {
  CURL* handle = nullptr;
  std::FILE* file = nullptr;
  uint64_t* held = nullptr;  // bytes of the package in the file
  uint64_t total = 0;
  const OtaProgress* progress = nullptr;
  bool started = false;
  bool is_package = false;  // HTTP 200 or 206 with a body that is not JSON
  bool overrun = false;     // the server sent more than the task's size
  bool write_failed = false;
  std::string error_body;
};

size_t take_download(char* data, size_t size, size_t count, void* target) {
  auto& sink = *static_cast<DownloadSink*>(target);
  const size_t n = size * count;
  if (!sink.started) {
    sink.started = true;
    long http_status = 0;
    curl_easy_getinfo(sink.handle, CURLINFO_RESPONSE_CODE, &http_status);
    const char* type = nullptr;
    curl_easy_getinfo(sink.handle, CURLINFO_CONTENT_TYPE, &type);
    const bool json_answer = type != nullptr && lower(type).find("json") != std::string::npos;
    sink.is_package = (http_status == 200 || http_status == 206) && !json_answer;
    // A whole package (200) although a range was asked for: start the file again.
    if (sink.is_package && http_status == 200 && *sink.held > 0) {
      if (std::fflush(sink.file) != 0 || ftruncate(fileno(sink.file), 0) != 0) {
        sink.write_failed = true;
        return 0;
      }
      std::rewind(sink.file);
      *sink.held = 0;
    }
  }
  if (!sink.is_package) {
    if (n > 65536 - sink.error_body.size()) return 0;  // no error envelope is this long
    sink.error_body.append(data, n);
    return n;
  }
  if (n > sink.total - *sink.held) {
    sink.overrun = true;
    return 0;
  }
  if (std::fwrite(data, 1, n, sink.file) != n) {
    sink.write_failed = true;
    return 0;
  }
  *sink.held += n;
  if (*sink.progress) (*sink.progress)(*sink.held, sink.total);
  return n;
}

}  // namespace

Status ApiClient::ota_report_version(const std::string& product_id, const std::string& name,
                                     const std::string& firmware_version,
                                     const std::string& software_version) {
  error_ = ApiError();
  json body = json::object();
  for (const auto& [key, version] :
       {std::pair<const char*, const std::string&>{"f_version", firmware_version},
        std::pair<const char*, const std::string&>{"s_version", software_version}}) {
    if (version.empty()) continue;
    if (!valid_ota_version(version)) {
      return fail(
          Status::kInvalidArgument, 0,
          std::string(key) + " \"" + version + "\": 1 to 20 letters, digits, '_', '.' or '-'");
    }
    body[key] = version;
  }
  if (body.empty()) {
    return fail(Status::kInvalidArgument, 0, "report at least one version (firmware or software)");
  }
  return call("POST", ota_path(product_id, name) + "/version", body.dump(), nullptr);
}

Status ApiClient::ota_check(const std::string& product_id, const std::string& name, OtaKind kind,
                            const std::string& current_version, OtaTask* out) {
  error_ = ApiError();
  if (!valid_ota_version(current_version)) {
    return fail(Status::kInvalidArgument, 0,
                "version \"" + current_version + "\": 1 to 20 letters, digits, '_', '.' or '-'");
  }
  std::string data;
  const Status s =
      call("GET",
           ota_path(product_id, name) + "/check?type=" + std::to_string(static_cast<int>(kind)) +
               "&version=" + query_escape(current_version),
           {}, &data);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  OtaTask task;
  if (parsed.is_object()) {
    task.tid = text_of(parsed, "tid");
    task.target = text_of(parsed, "target");
    task.md5 = lower(text_of(parsed, "md5"));
    task.size =
        static_cast<uint64_t>(std::max<int64_t>(0, model::integer_member(parsed, "size", 0)));
    task.status = static_cast<int>(model::integer_member(parsed, "status", 0));
    task.type = static_cast<int>(model::integer_member(parsed, "type", 0));
  }
  if (task.tid.empty() || task.size == 0 || !is_md5_hex(task.md5)) {
    return fail(Status::kProvisionBadResponse, 0,
                "fuse-ota check: the task lacks tid, size or a 32-digit md5");
  }
  if (out) *out = std::move(task);
  return Status::kOk;
}

Status ApiClient::ota_task_active(const std::string& product_id, const std::string& name,
                                  const std::string& tid) {
  if (tid.empty()) return fail(Status::kInvalidArgument, 0, "no task id");
  return call("GET", ota_path(product_id, name) + "/" + query_escape(tid) + "/check", {}, nullptr);
}

Status ApiClient::ota_report_step(const std::string& product_id, const std::string& name,
                                  const std::string& tid, int step) {
  error_ = ApiError();
  const bool known =
      (step >= 0 && step <= 100) || (step >= 101 && step <= 107) || (step >= 201 && step <= 208);
  if (!known) {
    return fail(Status::kInvalidArgument, 0,
                "step " + std::to_string(step) + ": 0-100, 101-107 or 201-208");
  }
  if (tid.empty()) return fail(Status::kInvalidArgument, 0, "no task id");
  const json body = {{"step", step}};
  return call("POST", ota_path(product_id, name) + "/" + query_escape(tid) + "/status", body.dump(),
              nullptr);
}

Status ApiClient::ota_download(const std::string& product_id, const std::string& name,
                               const OtaTask& task, const std::string& path,
                               const OtaProgress& progress) {
  error_ = ApiError();
  if (task.tid.empty() || task.size == 0 || !is_md5_hex(task.md5)) {
    return fail(Status::kInvalidArgument, 0, "the task needs a tid, a size and a 32-digit md5");
  }
  const bool existed = std::ifstream(path).good();
  // "a+b": keeps what an interrupted download left; writes always append.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "a+b"),
                                                       std::fclose);
  if (!file) {
    return fail(Status::kInvalidArgument, 0, path + ": cannot be opened for writing");
  }
  std::fseek(file.get(), 0, SEEK_END);
  const long existing = std::ftell(file.get());
  uint64_t held = existing > 0 ? static_cast<uint64_t>(existing) : 0;
  if (held > task.size) {  // not a part of this package: start again
    if (ftruncate(fileno(file.get()), 0) != 0) {
      return fail(Status::kInvalidArgument, 0, path + ": cannot be truncated");
    }
    held = 0;
  }
  const std::string url =
      options_.api_url + ota_path(product_id, name) + "/" + query_escape(task.tid) + "/download";
  // Kept bytes that were not this package's (another task's download, a damaged file) make the
  // joined file fail the MD5: then the package is fetched once more, whole.
  for (bool kept_bytes = held > 0;; kept_bytes = false) {
    const Status fetched = fetch_rest(url, task, file.get(), &held, progress);
    if (fetched != Status::kOk) {
      // Nothing came: leave no empty file behind that was not there before.
      if (!existed && held == 0) {
        file.reset();
        std::remove(path.c_str());
      }
      return fetched;
    }
    if (std::fflush(file.get()) != 0) {
      return fail(Status::kInvalidArgument, 0, path + ": write failed");
    }
    const std::string digest = md5_of(file.get(), task.size);
    if (digest == task.md5) return Status::kOk;
    if (!kept_bytes) {
      file.reset();
      std::remove(path.c_str());
      return fail(Status::kProvisionOtaChecksumMismatch, 0,
                  path + ": MD5 " + (digest.empty() ? "unreadable" : digest) + ", the task's " +
                      task.md5 + "; the file was deleted");
    }
    if (ftruncate(fileno(file.get()), 0) != 0) {
      return fail(Status::kInvalidArgument, 0, path + ": cannot be truncated");
    }
    held = 0;
  }
}

// Requests the rest of the package from `*held` bytes on until it is whole, resuming after
// dropped links (see ota_download).
Status ApiClient::fetch_rest(const std::string& url, const OtaTask& task, std::FILE* file,
                             uint64_t* held, const OtaProgress& progress) {
  uint32_t failures = 0;
  uint32_t delay_ms = options_.backoff_ms;
  while (*held < task.size) {
    const uint64_t before = *held;
    bool retryable = false;
    const Status s = download_rest(url, task, file, held, progress, &retryable);
    if (s == Status::kOk) continue;
    if (!retryable) return s;
    // A link that dropped mid-way: resume from what arrived. Only failures in a row without
    // progress count against max_attempts.
    failures = *held > before ? 0 : failures + 1;
    if (failures >= options_.max_attempts) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));  // backoff, not a sync
    delay_ms = *held > before ? options_.backoff_ms : delay_ms * 2;
  }
  return Status::kOk;
}

Status ApiClient::download_rest(const std::string& url, const OtaTask& task, std::FILE* file,
                                uint64_t* held, const OtaProgress& progress, bool* retryable) {
  error_ = ApiError();
  *retryable = false;
  const Result<std::string> token = sign();
  if (!token) return token.status();
  CURL* h = curl_->handle;
  curl_easy_reset(h);
  char curl_message[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("authorization: " + token.value()).c_str());
  DownloadSink sink;
  sink.handle = h;
  sink.file = file;
  sink.held = held;
  sink.total = task.size;
  sink.progress = &progress;
  const std::string range = std::to_string(*held) + "-" + std::to_string(task.size - 1);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  if (*held > 0) curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take_download);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_message);
  // A package takes as long as it takes: the limit is on a stalled link (under 1 byte/s for
  // timeout_ms), not on the whole transfer.
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>((options_.timeout_ms + 999) / 1000));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  ++attempts_;
  const CURLcode code = curl_easy_perform(h);
  curl_slist_free_all(headers);
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  error_.http_status = static_cast<int>(http_status);
  if (sink.overrun) {
    return fail(Status::kProvisionBadResponse, 0,
                url + ": more bytes than the task's size, " + std::to_string(task.size));
  }
  if (sink.write_failed) return fail(Status::kInvalidArgument, 0, "the package file: write failed");
  if (code == CURLE_WRITE_ERROR) {
    return fail(Status::kProvisionBadResponse, 0, url + ": an error answer longer than 64 KiB");
  }
  if (code != CURLE_OK) {
    *retryable = is_network_failure(code);
    std::string why = curl_message[0] ? curl_message : curl_easy_strerror(code);
    return fail(status_of(code), 0, url + ": " + why);
  }
  if (!sink.is_package) {
    const json answer = model::parse_json(sink.error_body);
    if (answer.is_object() && answer.contains("code") && answer["code"].is_number_integer() &&
        answer["code"].get<int>() != 0) {
      return api_failure(answer["code"].get<int>(), text_of(answer, "msg"));
    }
    if (http_status == 200 || http_status == 206) {
      // An empty body: nothing more came. Seen as a dropped link, to be resumed.
      *retryable = true;
      return fail(Status::kProvisionNetworkFailed, 0, url + ": the package ended early");
    }
    return fail(Status::kProvisionBadResponse, 0,
                url + ": HTTP " + std::to_string(http_status) + " without the package");
  }
  return Status::kOk;
}

Status ApiClient::register_device(const std::string& name, const std::string& desc,
                                  const std::string& key, DeviceInfo* out) {
  error_ = ApiError();
  if (name.empty()) return fail(Status::kInvalidArgument, 0, "devices/reg: no device name");
  json body = {{"name", name}};
  if (!desc.empty()) body["desc"] = desc;
  if (!key.empty()) {
    // The legacy page: a key of one's own is Base64 of at most 32 bytes.
    uint8_t raw[64];
    const Result<size_t> n = auth::base64_decode(key, raw, sizeof raw);
    if (!n || n.value() == 0 || n.value() > 32)
      return fail(Status::kInvalidArgument, 0, "devices/reg: key: Base64 of 1 to 32 bytes");
    body["key"] = key;
  }
  if (!model::is_utf8(body))
    return fail(Status::kInvalidArgument, 0, "devices/reg: desc must be UTF-8");
  std::string data;
  const Status s = call("POST", "/mqtt/v1/devices/reg", body.dump(), &data);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  if (!parsed.is_object() || text_of(parsed, "key").empty() ||
      text_of(parsed, "device_id").empty()) {
    return fail(Status::kProvisionBadResponse, 0,
                "devices/reg: no data.device_id and data.key in the answer");
  }
  if (out) {
    *out = DeviceInfo();
    out->product_id = text_of(parsed, "pid");
    out->name = text_of(parsed, "name").empty() ? name : text_of(parsed, "name");
    out->did = text_of(parsed, "device_id");
    out->key = text_of(parsed, "key");
  }
  return Status::kOk;
}

Status ApiClient::update_device_image(const std::string& device_id, const std::string& desired_json,
                                      const std::string& reported_json, std::string* image_json) {
  error_ = ApiError();
  if (device_id.empty() || device_id.size() > 18 ||
      device_id.find_first_not_of("0123456789") != std::string::npos)
    return fail(Status::kInvalidArgument, 0, "image: device id: a number (did)");
  json state = json::object();
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string*>{"desired", &desired_json},
        std::pair<const char*, const std::string*>{"reported", &reported_json}}) {
    if (text->empty()) continue;
    const json values = model::parse_json(*text);
    std::string problem = values.is_discarded() ? "not JSON" : std::string();
    if (problem.empty() &&
        model::check_image_values(values, &problem) == model::ImageProblem::kNone)
      state[name] = values;
    else
      return fail(Status::kInvalidArgument, 0, std::string("image: ") + name + ": " + problem);
  }
  if (state.empty())
    return fail(Status::kInvalidArgument, 0, "image: neither desired nor reported values");
  const json body = {{"state", state}};
  if (!model::is_utf8(body))
    return fail(Status::kInvalidArgument, 0, "image: values must be UTF-8");
  const std::string text = body.dump();
  if (text.size() > model::kMaxImageBytes)
    return fail(Status::kInvalidArgument, 0,
                "image: " + std::to_string(text.size()) + " bytes of JSON; an image holds 4096");
  std::string data;
  const Status s = call("PUT", "/mqtt/v1/devices/" + device_id + "/image/properties", text, &data,
                        Retry::kUntilSent);
  if (s != Status::kOk) return s;
  const json parsed = model::parse_json(data);
  const json* answered_state = parsed.is_object() ? model::member(parsed, "state") : nullptr;
  if (answered_state == nullptr || !answered_state->is_object())
    return fail(Status::kProvisionBadResponse, 0, "image: no data.state in the answer");
  if (image_json) *image_json = parsed.dump();
  return Status::kOk;
}

}  // namespace onenet::provision
