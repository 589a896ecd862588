#include "onenet/ota/fuse_ota.hpp"

#include <cstring>

#include "http.hpp"
#include "onenet/json_walker.hpp"

namespace onenet::ota {
namespace {

using detail::BodyDecoder;
using detail::ResponseHead;

// OneNET's codes (onenet-protocol.md sections 5.1 and 5.5).
constexpr uint64_t kOneNetAuthFailed = 10403;
constexpr uint64_t kOneNetNoSuchTask = 12012;
constexpr size_t kMaxName = 64;
constexpr size_t kMaxVersion = 20;

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Text that goes into a path or query as it is: no escaping is ever needed.
bool path_safe(std::string_view text, size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (const char c : text) {
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// A header value: visible ASCII only, so a token cannot end the line and add a field.
bool header_safe(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// A hex digit in lower case, as MD5 digests are written here (Md5::hex_digest).
char lower_hex(char c) {
  return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_md5_hex(std::string_view text) {
  if (text.size() != 32) return false;
  for (const char c : text) {
    if (!is_hex(c)) return false;
  }
  return true;
}

// A network failure: the request may not have arrived or its answer was lost. Worth another
// attempt; everything else (an answer, a refusal, a bad argument) is final.
bool retryable(Status status) {
  return status == Status::kProvisionNetworkFailed || status == Status::kProvisionTimeout;
}

// Writes a request into the buffer, or notes that it does not fit.
class RequestWriter {
 public:
  explicit RequestWriter(MutableByteView out) : out_(out) {}

  // Out of line: a request is some thirty pieces, and a copy of this at each one would cost
  // a firmware more flash than the call.
  __attribute__((noinline)) RequestWriter& text(std::string_view text) {
    if (text.size() > out_.size - length_) {
      overflowed_ = true;
      return *this;
    }
    if (!text.empty()) std::memcpy(out_.data + length_, text.data(), text.size());
    length_ += text.size();
    return *this;
  }
  // A literal's length is known here: no strlen at each call.
  template <size_t N>
  RequestWriter& text(const char (&literal)[N]) {
    return text(std::string_view(literal, N - 1));
  }
  // Decimal digits by subtracting powers of ten: no 64-bit division, which on a Cortex-M
  // would link the runtime's division routine (about 700 bytes) for a few numbers.
  __attribute__((noinline)) RequestWriter& number(uint64_t value) {
    uint64_t powers[20];  // 10^0 .. 10^19, the largest that fits
    powers[0] = 1;
    for (int place = 1; place < 20; ++place) powers[place] = powers[place - 1] * 10;
    char digits[20];
    size_t count = 0;
    for (int place = 19; place >= 0; --place) {
      char digit = '0';
      while (value >= powers[place]) {
        value -= powers[place];
        ++digit;
      }
      if (digit != '0' || count > 0 || place == 0) digits[count++] = digit;
    }
    return text(std::string_view(digits, count));
  }
  size_t length() const { return length_; }
  bool overflowed() const { return overflowed_; }

 private:
  MutableByteView out_;
  size_t length_ = 0;
  bool overflowed_ = false;
};

}  // namespace

bool valid_version(std::string_view version) {
  return path_safe(version, kMaxVersion);
}

int download_failure_step(Status status) {
  switch (status) {
    case Status::kOk:
    case Status::kProvisionNoOtaTask:
    case Status::kProvisionDownloadPaused:  // the caller's own pause: it goes on
      return 0;
    case Status::kProvisionOtaChecksumMismatch:
      return 205;
    case Status::kProvisionTimeout:
      return 104;
    case Status::kProvisionNetworkFailed:
      return 106;
    default:
      return 107;
  }
}

// One call: what it asks, and what its answer gave.
struct FuseOtaClient::Exchange {
  enum class Kind : uint8_t { kVersion, kCheck, kTaskCheck, kStep, kDownload, kRegister };
  explicit Exchange(Kind what) : kind(what) {}
  Kind kind;
  const Caller* caller = nullptr;
  // The request's parts, by kind.
  std::string_view firmware_version, software_version, current_version;
  uint8_t ota_kind = 0;
  uint64_t tid = 0;
  int step = 0;
  // A download's state.
  const Task* task = nullptr;
  uint32_t* received = nullptr;
  Md5* digest = nullptr;
  PackageSink sink = nullptr;
  void* context = nullptr;
  // The envelope's `data`, raw JSON text in the buffer (kOk answers).
  std::string_view data;
  // Reads a JSON answer whole in the buffer in place of read_envelope's own (the legacy API's).
  Status (FuseOtaClient::*read_answer)(Exchange*, size_t) = nullptr;
};

FuseOtaClient::FuseOtaClient(port::Transport& transport, port::Clock& clock, MutableByteView buffer,
                             const FuseOtaOptions& options)
    : transport_(transport), clock_(clock), buffer_(buffer), options_(options) {}

Status FuseOtaClient::fail(Status status, std::string_view message) {
  // Cut at a character's start, so that a cut UTF-8 message (OneNET's are Chinese) stays valid.
  size_t length = message.size() < sizeof last_message_ ? message.size() : sizeof last_message_ - 1;
  while (length > 0 && length < message.size() &&
         (static_cast<uint8_t>(message[length]) & 0xC0) == 0x80)
    --length;
  if (length > 0) std::memcpy(last_message_, message.data(), length);  // data() may be null
  last_message_[length] = '\0';
  return status;
}

Status FuseOtaClient::check_caller(const Caller& caller) {
  last_code_ = 0;
  last_http_status_ = 0;
  last_message_[0] = '\0';
  if (buffer_.size < kMinBufferSize)
    return fail(Status::kBufferTooSmall, "the buffer is under kMinBufferSize");
  if (!path_safe(caller.product_id, kMaxName) || !path_safe(caller.device_name, kMaxName))
    return fail(Status::kInvalidArgument,
                "product_id, device_name: 1-64 letters, digits, '_', '.' or '-'");
  if (!header_safe(caller.token))
    return fail(Status::kInvalidArgument, "token: empty, or not a token (spaces, line ends)");
  if (!header_safe(options_.host))
    return fail(Status::kInvalidArgument, "options.host: empty, or with spaces");
  return Status::kOk;
}

Status FuseOtaClient::report_version(const Caller& caller, std::string_view firmware_version,
                                     std::string_view software_version) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (firmware_version.empty() && software_version.empty())
    return fail(Status::kInvalidArgument, "a firmware or a software version is needed");
  if ((!firmware_version.empty() && !valid_version(firmware_version)) ||
      (!software_version.empty() && !valid_version(software_version)))
    return fail(Status::kInvalidArgument, "versions: 1-20 letters, digits, '_', '.' or '-'");
  Exchange exchange(Exchange::Kind::kVersion);
  exchange.firmware_version = firmware_version;
  exchange.software_version = software_version;
  return call(caller, &exchange);
}

Status FuseOtaClient::register_device(const Caller& caller, Registration* out) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (out == nullptr) return fail(Status::kInvalidArgument, "no Registration to fill");
  Exchange exchange(Exchange::Kind::kRegister);
  exchange.read_answer = &FuseOtaClient::read_legacy_envelope;
  if (const Status s = call(caller, &exchange); s != Status::kOk) return s;
  // data: {"device_id": "589804481", "name": .., "pid": .., "key": ".."} (a captured answer).
  lite_json::ObjectWalker data(exchange.data);
  std::string_view key, value, device_id, device_key;
  while (data.next(&key, &value)) {
    // A string in the captured answer; a number is taken too.
    if (key == "device_id" && !lite_json::read_plain_string(value, &device_id)) device_id = value;
    if (key == "key") lite_json::read_plain_string(value, &device_key);
  }
  uint64_t did = 0;
  const bool numeric = !device_id.empty() && device_id.size() <= 19 &&
                       device_id.find_first_not_of("0123456789") == std::string_view::npos;
  for (const char c : device_id) did = did * 10 + static_cast<uint64_t>(c - '0');
  if (data.malformed() || !numeric || device_key.empty() || device_key.size() >= sizeof out->key)
    return fail(Status::kProvisionBadResponse, "devices/reg: no device_id and key in the answer");
  out->did = did;
  std::memcpy(out->key, device_key.data(), device_key.size());
  out->key[device_key.size()] = '\0';
  return Status::kOk;
}

Status FuseOtaClient::check(const Caller& caller, Kind kind, std::string_view current_version,
                            Task* out) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (kind != Kind::kFirmware && kind != Kind::kSoftware)
    return fail(Status::kInvalidArgument, "kind: kFirmware or kSoftware");
  if (!valid_version(current_version))
    return fail(Status::kInvalidArgument, "version: 1-20 letters, digits, '_', '.' or '-'");
  Exchange exchange(Exchange::Kind::kCheck);
  exchange.ota_kind = static_cast<uint8_t>(kind);
  exchange.current_version = current_version;
  if (const Status s = call(caller, &exchange); s != Status::kOk) return s;

  // data: {target, tid, size, md5, status, type}; the tid may come as a number or as text.
  Task task;
  bool have_target = false, have_md5 = false;
  lite_json::ObjectWalker data(exchange.data);
  std::string_view key, value, text;
  uint64_t number = 0;
  while (data.next(&key, &value)) {
    const bool is_text = lite_json::read_plain_string(value, &text);
    const bool is_number = lite_json::read_unsigned(is_text ? text : value, &number);
    if (key == "tid" && is_number) {
      task.tid = number;
    } else if (key == "size" && is_number && !is_text && number <= UINT32_MAX) {
      task.size = static_cast<uint32_t>(number);
    } else if (key == "status" && is_number && !is_text && number <= 255) {
      task.status = static_cast<uint8_t>(number);
    } else if (key == "type" && is_number && !is_text && number <= 255) {
      task.type = static_cast<uint8_t>(number);
    } else if (key == "target" && is_text && valid_version(text)) {
      std::memcpy(task.target, text.data(), text.size());
      task.target[text.size()] = '\0';
      have_target = true;
    } else if (key == "md5" && is_text && is_md5_hex(text)) {
      for (size_t i = 0; i < 32; ++i) task.md5[i] = lower_hex(text[i]);
      task.md5[32] = '\0';
      have_md5 = true;
    }
  }
  if (data.malformed() || task.tid == 0 || task.size == 0 || !have_target || !have_md5)
    return fail(Status::kProvisionBadResponse,
                "check: the task lacks tid, size (under 4 GiB), target or a 32-digit md5");
  *out = task;
  return Status::kOk;
}

Status FuseOtaClient::task_active(const Caller& caller, uint64_t tid) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (tid == 0) return fail(Status::kInvalidArgument, "tid: a task's id, not 0");
  Exchange exchange(Exchange::Kind::kTaskCheck);
  exchange.tid = tid;
  return call(caller, &exchange);
}

Status FuseOtaClient::report_step(const Caller& caller, uint64_t tid, int step) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (tid == 0) return fail(Status::kInvalidArgument, "tid: a task's id, not 0");
  if (!((step >= 0 && step <= 107) || (step >= 201 && step <= 208)))
    return fail(Status::kInvalidArgument, "step: 0-100, 101-107 or 201-208");
  Exchange exchange(Exchange::Kind::kStep);
  exchange.tid = tid;
  exchange.step = step;
  return call(caller, &exchange);
}

Status FuseOtaClient::download(const Caller& caller, const Task& task, uint32_t* received,
                               Md5* digest, PackageSink sink, void* context) {
  if (const Status s = check_caller(caller); s != Status::kOk) return s;
  if (task.tid == 0 || task.size == 0 || task.md5[32] != '\0' ||
      !is_md5_hex(std::string_view(task.md5, 32)))
    return fail(Status::kInvalidArgument,
                "task: no tid, a size of 0, or an md5 that is not 32 hex digits");
  if (received == nullptr || digest == nullptr || sink == nullptr || *received > task.size)
    return fail(Status::kInvalidArgument, "received, digest and sink are needed; received <= size");
  Exchange exchange(Exchange::Kind::kDownload);
  exchange.tid = task.tid;
  exchange.task = &task;
  exchange.received = received;
  exchange.digest = digest;
  exchange.sink = sink;
  exchange.context = context;
  if (*received < task.size) {
    if (const Status s = call(caller, &exchange); s != Status::kOk) return s;
  }
  char hex[33];
  digest->hex_digest(hex);
  for (size_t i = 0; i < 32; ++i) {
    if (hex[i] != lower_hex(task.md5[i]))  // a task filled by hand may say it in upper case
      return fail(Status::kProvisionOtaChecksumMismatch, "the package's MD5 is not the task's");
  }
  return Status::kOk;
}

// Requests until one is answered, or max_attempts in a row fail on the network. A download
// that brought bytes starts the count again, and asks for the rest the next time.
Status FuseOtaClient::call(const Caller& caller, Exchange* exchange) {
  exchange->caller = &caller;
  uint8_t failures = 0;
  for (;;) {
    const uint32_t before = exchange->received != nullptr ? *exchange->received : 0;
    const Status status = attempt(exchange);
    transport_.close();
    if (!retryable(status)) return status;
    const bool progress = exchange->received != nullptr && *exchange->received > before;
    failures = progress ? 0 : static_cast<uint8_t>(failures + 1);
    if (failures >= options_.max_attempts) return status;
  }
}

size_t FuseOtaClient::write_request(const Exchange& exchange, bool* overflowed) {
  const Caller& caller = *exchange.caller;
  RequestWriter w(buffer_);
  const bool post = exchange.kind == Exchange::Kind::kVersion ||
                    exchange.kind == Exchange::Kind::kStep ||
                    exchange.kind == Exchange::Kind::kRegister;
  w.text(post ? "POST" : "GET");
  if (exchange.kind == Exchange::Kind::kRegister) {
    w.text(" /mqtt/v1/devices/reg");
  } else {
    w.text(" /fuse-ota/").text(caller.product_id).text("/").text(caller.device_name);
  }
  switch (exchange.kind) {
    case Exchange::Kind::kRegister:
      break;
    case Exchange::Kind::kVersion:
      w.text("/version");
      break;
    case Exchange::Kind::kCheck:
      w.text("/check?type=")
          .number(exchange.ota_kind)
          .text("&version=")
          .text(exchange.current_version);
      break;
    case Exchange::Kind::kTaskCheck:
      w.text("/").number(exchange.tid).text("/check");
      break;
    case Exchange::Kind::kStep:
      w.text("/").number(exchange.tid).text("/status");
      break;
    case Exchange::Kind::kDownload:
      w.text("/").number(exchange.tid).text("/download");
      break;
  }
  w.text(" HTTP/1.1\r\nHost: ").text(options_.host).text("\r\nauthorization: ").text(caller.token);
  w.text("\r\nConnection: close\r\n");
  if (exchange.kind == Exchange::Kind::kDownload && *exchange.received > 0)
    w.text("Range: bytes=")
        .number(*exchange.received)
        .text("-")
        .number(exchange.task->size - 1)
        .text("\r\n");
  if (post) {
    // The body, measured first for Content-Length: {"f_version":"..","s_version":".."},
    // {"step":N} or {"name":".."}; versions and names were checked to be plain text.
    char body[96];
    RequestWriter b(MutableByteView(reinterpret_cast<uint8_t*>(body), sizeof body));
    if (exchange.kind == Exchange::Kind::kRegister) {
      b.text("{\"name\":\"").text(caller.device_name).text("\"}");  // path-safe: no escapes
    } else if (exchange.kind == Exchange::Kind::kStep) {
      b.text("{\"step\":").number(static_cast<uint64_t>(exchange.step)).text("}");
    } else {
      b.text("{");
      if (!exchange.firmware_version.empty())
        b.text("\"f_version\":\"").text(exchange.firmware_version).text("\"");
      if (!exchange.firmware_version.empty() && !exchange.software_version.empty()) b.text(",");
      if (!exchange.software_version.empty())
        b.text("\"s_version\":\"").text(exchange.software_version).text("\"");
      b.text("}");
    }
    w.text("Content-Type: application/json\r\nContent-Length: ")
        .number(b.length())
        .text("\r\n\r\n");
    w.text(std::string_view(body, b.length()));
  } else {
    w.text("\r\n");
  }
  *overflowed = w.overflowed();
  return w.length();
}

Status FuseOtaClient::attempt(Exchange* exchange) {
  bool overflowed = false;
  const size_t length = write_request(*exchange, &overflowed);
  if (overflowed) return fail(Status::kBufferTooSmall, "the request does not fit in the buffer");
  const Status opened = transport_.open(options_.timeout_ms);
  switch (opened) {
    case Status::kOk:
      break;
    // Final, as they are: a stop, or a TLS layer that will not trust the server (another
    // attempt would be refused the same way).
    case Status::kTransportCancelled:
      return opened;
    case Status::kTlsSetupFailed:
    case Status::kTlsHandshakeFailed:
    case Status::kTlsVerifyFailed:
    case Status::kTlsCaLoadFailed:
      return fail(opened, "TLS: the server is not trusted, or TLS cannot be set up");
    default:
      return fail(Status::kProvisionNetworkFailed, "cannot connect");
  }
  if (const Status s = send_request(length); s != Status::kOk) return s;
  size_t filled = 0, head_size = 0;
  if (const Status s = read_head(&filled, &head_size); s != Status::kOk) return s;
  ResponseHead head;
  if (!detail::parse_response_head(
          std::string_view(reinterpret_cast<const char*>(buffer_.data), head_size), &head))
    return fail(Status::kProvisionBadResponse, "not an HTTP/1.1 answer this client reads");
  last_http_status_ = head.status;
  BodyDecoder body(head.chunked      ? BodyDecoder::Framing::kChunked
                   : head.has_length ? BodyDecoder::Framing::kLength
                                     : BodyDecoder::Framing::kUntilClose,
                   head.length);
  // What came after the head is the body's start: it moves to the front of the buffer.
  const size_t rest = filled - head_size;
  std::memmove(buffer_.data, buffer_.data + head_size, rest);
  if (exchange->kind == Exchange::Kind::kDownload && !head.json &&
      (head.status == 200 || head.status == 206))
    return take_package(exchange, head, &body, rest);
  const Status answered = read_envelope(exchange, &body, rest);
  // A download answered with a success envelope and no package: not the API's way.
  if (answered == Status::kOk && exchange->kind == Exchange::Kind::kDownload)
    return fail(Status::kProvisionBadResponse, "a download answered without the package");
  return answered;
}

// The request, whole; a transport that stays full for timeout_ms (it may say it is ready and
// then take nothing) ends the attempt.
Status FuseOtaClient::send_request(size_t length) {
  size_t sent = 0;
  uint64_t deadline = clock_.now_ms() + options_.timeout_ms;
  while (sent < length) {
    const int32_t n = transport_.send(buffer_.data + sent, length - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      deadline = clock_.now_ms() + options_.timeout_ms;
      continue;
    }
    if (n < 0) return fail(Status::kProvisionNetworkFailed, "the link dropped while sending");
    const uint64_t now = clock_.now_ms();
    const Status s = now < deadline ? transport_.wait(static_cast<uint32_t>(deadline - now), true)
                                    : Status::kTransportTimeout;
    if (s == Status::kTransportCancelled) return s;
    if (s == Status::kTransportTimeout)
      return fail(Status::kProvisionTimeout, "the request could not be sent in time");
    if (s != Status::kOk) return fail(Status::kProvisionNetworkFailed, "the link failed");
  }
  return Status::kOk;
}

// Bytes into the buffer from `offset` on: kOk with `*count` > 0, or 0 when the peer closed
// the connection (or it died: a transport cannot tell the two apart).
Status FuseOtaClient::read_more(size_t offset, size_t* count) {
  const uint64_t deadline = clock_.now_ms() + options_.timeout_ms;
  for (;;) {
    const int32_t n = transport_.recv(buffer_.data + offset, buffer_.size - offset);
    if (n != 0) {
      *count = n > 0 ? static_cast<size_t>(n) : 0;
      return Status::kOk;
    }
    const uint64_t now = clock_.now_ms();
    const Status s = now < deadline ? transport_.wait(static_cast<uint32_t>(deadline - now), false)
                                    : Status::kTransportTimeout;
    if (s == Status::kTransportCancelled) return s;
    if (s == Status::kTransportTimeout) return fail(Status::kProvisionTimeout, "no answer in time");
    if (s != Status::kOk) return fail(Status::kProvisionNetworkFailed, "the link failed");
  }
}

Status FuseOtaClient::read_head(size_t* filled, size_t* head_size) {
  *filled = 0;
  for (;;) {
    if (*filled == buffer_.size)
      return fail(Status::kProvisionBadResponse, "the answer's head does not fit in the buffer");
    size_t n = 0;
    if (const Status s = read_more(*filled, &n); s != Status::kOk) return s;
    if (n == 0) return fail(Status::kProvisionNetworkFailed, "the link closed before an answer");
    *filled += n;
    *head_size =
        detail::head_length(std::string_view(reinterpret_cast<const char*>(buffer_.data), *filled));
    if (*head_size > 0) return Status::kOk;
  }
}

// A JSON answer, whole in the buffer: OneNET's {code, msg, data} envelope.
Status FuseOtaClient::read_envelope(Exchange* exchange, BodyDecoder* body, size_t rest) {
  size_t length = body->decode(buffer_.data, rest);
  while (!body->done() && !body->failed()) {
    if (length == buffer_.size)
      return fail(Status::kProvisionBadResponse, "an answer larger than the buffer");
    size_t n = 0;
    if (const Status s = read_more(length, &n); s != Status::kOk) return s;
    if (n == 0) {
      if (body->ends_at_close()) break;
      return fail(Status::kProvisionNetworkFailed, "the link dropped mid-answer");
    }
    length += body->decode(buffer_.data + length, n);
  }
  if (body->failed())
    return fail(Status::kProvisionBadResponse, "a chunked answer that cannot be read");
  // Only register_device names this reader, so a device that never registers links none of it.
  if (exchange->read_answer != nullptr) return (this->*exchange->read_answer)(exchange, length);

  lite_json::ObjectWalker envelope(
      std::string_view(reinterpret_cast<const char*>(buffer_.data), length));
  std::string_view key, value, message;
  uint64_t code = 0;
  bool have_code = false;
  while (envelope.next(&key, &value)) {
    if (key == "code") {
      have_code = lite_json::read_unsigned(value, &code);
    } else if (key == "msg") {
      lite_json::read_plain_string(value, &message);
      // A msg with escapes: its raw text (no substr: it could throw, see http.cpp).
      if (message.empty() && value.size() >= 2 && value[0] == '"')
        message = std::string_view(value.data() + 1, value.size() - 2);
    } else if (key == "data") {
      exchange->data = value;
    }
  }
  if (envelope.malformed() || !have_code) {
    if (last_http_status_ < 200 || last_http_status_ > 299)
      return fail(Status::kProvisionBadResponse, "an HTTP error without OneNET's envelope");
    return fail(Status::kProvisionBadResponse, "the answer is not OneNET's JSON envelope");
  }
  last_code_ = code > 99999 ? -1 : static_cast<int>(code);
  if (code == 0) return Status::kOk;
  fail(Status::kOk, message);
  if (code == kOneNetNoSuchTask) return Status::kProvisionNoOtaTask;
  if (code == kOneNetAuthFailed) return Status::kProvisionBadCredentials;
  return Status::kProvisionApiError;
}

// The legacy API's envelope, whole in the buffer: {code, code_no, message, data}. "000000" in
// code_no (as a captured answer has it) or in code (as its image page does) is success; else the
// number says which error.
Status FuseOtaClient::read_legacy_envelope(Exchange* exchange, size_t length) {
  lite_json::ObjectWalker envelope(
      std::string_view(reinterpret_cast<const char*>(buffer_.data), length));
  std::string_view key, value, message, code, code_no;
  while (envelope.next(&key, &value)) {
    if (key == "code") lite_json::read_plain_string(value, &code);
    if (key == "code_no") lite_json::read_plain_string(value, &code_no);
    if (key == "message") lite_json::read_plain_string(value, &message);
    if (key == "data") exchange->data = value;
  }
  if (!envelope.malformed() && (code_no == "000000" || code == "000000")) return Status::kOk;
  const bool numbered = code_no.find_first_not_of("0123456789") == std::string_view::npos;
  const std::string_view number = numbered ? code_no : code;
  uint64_t error = 0;
  if (envelope.malformed() || number.size() > 9 || !lite_json::read_unsigned(number, &error) ||
      error == 0)
    return fail(Status::kProvisionBadResponse, "the answer is not OneNET's legacy envelope");
  last_code_ = static_cast<int>(error);
  fail(Status::kOk, message.empty() ? (numbered ? code : code_no) : message);
  return error <= 2 ? Status::kProvisionBadCredentials : Status::kProvisionApiError;
}

// The package's bytes, piece by piece to the sink.
Status FuseOtaClient::take_package(Exchange* exchange, const ResponseHead& head, BodyDecoder* body,
                                   size_t rest) {
  const Task& task = *exchange->task;
  uint32_t& received = *exchange->received;
  // A 206 must be the rest asked for; a 200 is the whole package, whose first bytes are
  // already held (a server that ignores Range) and are passed over.
  uint64_t skip = 0;
  if (head.status == 206) {
    if (!head.has_range || head.range_first != received)
      return fail(Status::kProvisionBadResponse, "a range that does not start where asked");
  } else {
    skip = received;
  }
  if (!head.chunked && head.has_length &&
      head.length + (head.status == 206 ? received : 0) > task.size)
    return fail(Status::kProvisionBadResponse, "more bytes than the task's size");
  size_t count = rest;
  for (;;) {
    size_t n = body->decode(buffer_.data, count);
    const uint8_t* piece = buffer_.data;
    const size_t passed = skip < n ? static_cast<size_t>(skip) : n;
    skip -= passed;
    piece += passed;
    n -= passed;
    if (n > task.size - received)
      return fail(Status::kProvisionBadResponse, "more bytes than the task's size");
    if (n > 0) {
      if (const Status s = exchange->sink(exchange->context, received, ByteView(piece, n));
          s != Status::kOk)
        return fail(s, "the sink stopped the download");
      exchange->digest->update(piece, n);
      received += static_cast<uint32_t>(n);
    }
    if (body->failed())
      return fail(Status::kProvisionBadResponse, "a chunked body that cannot be read");
    if (body->done()) break;
    if (const Status s = read_more(0, &count); s != Status::kOk) return s;
    if (count == 0) {
      if (body->ends_at_close()) break;
      return fail(Status::kProvisionNetworkFailed, "the link dropped mid-package");
    }
  }
  // A body that ended before the package did: as a dropped link, the rest is asked for again.
  if (received < task.size) return fail(Status::kProvisionNetworkFailed, "the package ended early");
  return Status::kOk;
}

}  // namespace onenet::ota
