// OTA over HTTP (fuse-ota, onenet-protocol.md section 5.5) for a device without libcurl or a
// heap: HTTP/1.1 over any port::Transport, one request per connection, every byte in a buffer
// the caller gives. provision::ApiClient is the same API for hosts. The same client also makes
// the device's one other HTTP call, its self-registration with its product's key
// (register_device, OneNET's legacy /mqtt/v1/devices/reg).
//
// The usual order: report the running versions, check for a task (when ota/inform arrives over
// MQTT, or at start), download the package into the device's spare flash with its MD5 checked,
// report 101, install, report 201 (or 102-107 and 202-208 with why it failed), then report the
// new version after the restart.
//
// Blocking: every call blocks until it is done, each step (connect, send, every wait for bytes)
// for at most FuseOtaOptions::timeout_ms, so a dead link ends a call and never hangs it. The
// MQTT client is not polled meanwhile; a long download can call it from its PackageSink.
// Not thread-safe: one call at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/bytes.hpp"
#include "onenet/ota/md5.hpp"
#include "onenet/port.hpp"
#include "onenet/status.hpp"

namespace onenet::ota {
namespace detail {
struct ResponseHead;
class BodyDecoder;
}  // namespace detail

/// Which software a task updates (check's `type` query).
enum class Kind : uint8_t {
  kFirmware = 1,  ///< FOTA: the module's firmware (reported as f_version)
  kSoftware = 2,  ///< SOTA: the application (reported as s_version)
};

/// A task as check describes it (its `data`). Plain data: it may be kept in flash to resume.
struct Task {
  uint64_t tid = 0;      ///< the task id
  char target[21] = {};  ///< the version it installs: 1-20 of [A-Za-z0-9_.-], NUL-terminated
  uint32_t size = 0;     ///< bytes of the package (packages of 4 GiB or more are refused)
  char md5[33] = {};     ///< the package's MD5: 32 lower-case hex digits, NUL-terminated
  uint8_t status = 0;    ///< 1 pending, 2 downloading, 3 upgrading
  uint8_t type = 0;      ///< 1 full package, 2 difference
};

/// Who calls: the device and its token. Borrowed for the call only.
struct Caller {
  std::string_view product_id;   ///< 1-64 of [A-Za-z0-9_.-]
  std::string_view device_name;  ///< 1-64 of [A-Za-z0-9_.-]
  /// A token OneNET takes for this device (auth::sign_token: the device's, resource
  /// products/{pid}/devices/{name}; a product token works too), sent as the `authorization`
  /// header. Never logged or kept.
  std::string_view token;
};

/// What register_device gives: the device's id and its key (plain data, to keep in flash).
struct Registration {
  uint64_t did = 0;   ///< OneNET's device id
  char key[65] = {};  ///< the device's key, Base64, NUL-terminated: keep it safe, never log it
};

/// The legacy API's host, where register_device goes (plain HTTP, port 80).
inline constexpr std::string_view kLegacyApiHost = "api.heclouds.com";

struct FuseOtaOptions {
  /// The Host header: the API's name. The transport is what connects (to port 80, or to 443
  /// through a TLS layer such as platform::MbedTlsTransport, whose server name should match).
  std::string_view host = "iot-api.heclouds.com";
  uint32_t timeout_ms = 10000;  ///< each step: connecting, sending, every wait for bytes
  /// Requests in a row that fail on the network (refused, dropped, silent) before a call gives
  /// up; a download request that brings bytes starts the count again. Retries go at once (the
  /// port has no sleep): wait between calls when one fails with a network status.
  uint8_t max_attempts = 3;
};

/// Takes the next piece of the package, in order: `offset` is where it starts in the package.
/// It runs inside FuseOtaClient::download; the bytes live until it returns. Return kOk to go
/// on, or any other status to stop the download with it (a flash write failed, say): the piece
/// then does not count as received. kProvisionDownloadPaused is the sink's pause: download
/// returns it, and a call made again asks for the rest from this piece on (a Range), so a
/// device can report its progress on the same transport between pieces.
using PackageSink = Status (*)(void* context, uint32_t offset, ByteView bytes);

/// Whether `version` is one fuse-ota takes: 1 to 20 of letters, digits, '_', '.' and '-'.
bool valid_version(std::string_view version);

/// The step that reports a download ended by `status` (the step table of onenet-protocol.md
/// section 5.5): 205 the package failed its MD5, 104 timed out, 106 the link failed (signal),
/// 107 anything else (a flash write, an answer that is not OneNET's). 0, nothing to report, for
/// kOk, for kProvisionNoOtaTask (the task is gone) and for kProvisionDownloadPaused. The same
/// for FuseOtaClient::download and provision::ApiClient::ota_download, whose statuses are these.
int download_failure_step(Status status);

class FuseOtaClient {
 public:
  /// Smallest buffer: a request with a token of about 200 bytes, then the answer's head.
  static constexpr size_t kMinBufferSize = 512;

  /// Everything is borrowed and must outlive the client. `buffer` holds one request and then
  /// the answer's head (its header fields must fit) and the pieces of the body; 1 KB is
  /// plenty for OneNET. A buffer under kMinBufferSize fails every call with kBufferTooSmall.
  /// `options.host` must stay valid too.
  FuseOtaClient(port::Transport& transport, port::Clock& clock, MutableByteView buffer,
                const FuseOtaOptions& options = FuseOtaOptions());

  /// POST /fuse-ota/{pid}/{name}/version: the versions running now. An empty one is left out;
  /// at least one is needed.
  Status report_version(const Caller& caller, std::string_view firmware_version,
                        std::string_view software_version);

  /// GET /fuse-ota/{pid}/{name}/check?type=&version=: a task for `kind` from
  /// `current_version`. kOk with `*out` filled; kProvisionNoOtaTask when there is none
  /// (OneNET's 12012, "not exist").
  Status check(const Caller& caller, Kind kind, std::string_view current_version, Task* out);

  /// GET /fuse-ota/{pid}/{name}/{tid}/check: kOk while the task is still to be carried out,
  /// kProvisionNoOtaTask once it is not (finished, cancelled or never existed).
  Status task_active(const Caller& caller, uint64_t tid);

  /// POST /fuse-ota/{pid}/{name}/{tid}/status with {"step": step}: 0-100 download progress,
  /// 101 downloaded, 102-107 download failed, 201 installed, 202-208 install failed (the
  /// legacy step table, onenet-protocol.md section 5.5). Other steps: kInvalidArgument.
  Status report_step(const Caller& caller, uint64_t tid, int step);

  /// GET /fuse-ota/{pid}/{name}/{tid}/download from byte `*received` on, each piece to `sink`,
  /// until `task.size` bytes are in, asking for the rest with a Range after a dropped link (up
  /// to max_attempts requests in a row that bring nothing). `*digest` is the MD5 of the bytes
  /// received so far: a fresh Md5 with `*received` 0, or the state saved with `*received` to
  /// resume a download a restart cut short. Both are updated as pieces are taken, so they are
  /// right whatever the call returns.
  /// kOk: the package is whole and its MD5 is the task's. kProvisionOtaChecksumMismatch: it is
  /// whole but its MD5 is not (start again from 0 with a fresh Md5). kProvisionNoOtaTask: the
  /// task is gone. kProvisionBadResponse: the server sent more bytes than task.size, a range
  /// that does not start at `*received`, a success envelope instead of the package, or
  /// something that is not HTTP. kInvalidArgument:
  /// a task check would not have given (no tid, size 0, an md5 that is not 32 hex digits),
  /// `*received` past its size, or no sink. The sink's own status when it stops the download.
  Status download(const Caller& caller, const Task& task, uint32_t* received, Md5* digest,
                  PackageSink sink, void* context);

  /// POST /mqtt/v1/devices/reg (section 5.3; 一型一密): the device registers itself and gets its
  /// own key. `caller.token` is its product's token (auth::sign_token with resource
  /// products/{pid} and the product's key; firmware written for OneNET signs it with version
  /// 2018-10-31 and sha1), `caller.device_name` the name to register; options.host must be
  /// kLegacyApiHost. OneNET answers a name the product has with that same device, so the call is
  /// retried as the others are. kOk with `*out` filled; kProvisionBadCredentials for a token
  /// OneNET refuses (its 000001 or 000002), kProvisionApiError for any other refusal (the number
  /// in last_code(), its name and message in last_message()), kProvisionBadResponse for an
  /// answer without the device's id and a key that fits.
  Status register_device(const Caller& caller, Registration* out);

  // Every call also ends with the transport's own status when its open() is cancelled
  // (kTransportCancelled) or its TLS layer refuses the server or cannot start (kTls*): those
  // are not tried again. Other connection failures are kProvisionNetworkFailed.

  /// About the last call that failed: OneNET's `code` (0 when the failure came before an
  /// answer), the HTTP status (0 when none arrived) and a message: OneNET's `msg` (its raw
  /// JSON text, cut to 63 bytes) or what went wrong. Reset by every call.
  int last_code() const { return last_code_; }
  int last_http_status() const { return last_http_status_; }
  const char* last_message() const { return last_message_; }

 private:
  struct Exchange;
  Status check_caller(const Caller& caller);
  Status call(const Caller& caller, Exchange* exchange);
  Status attempt(Exchange* exchange);
  size_t write_request(const Exchange& exchange, bool* overflowed);
  Status send_request(size_t length);
  Status read_more(size_t offset, size_t* count);
  Status read_head(size_t* filled, size_t* head_size);
  Status read_envelope(Exchange* exchange, detail::BodyDecoder* body, size_t rest);
  Status read_legacy_envelope(Exchange* exchange, size_t length);
  Status take_package(Exchange* exchange, const detail::ResponseHead& head,
                      detail::BodyDecoder* body, size_t rest);
  Status fail(Status status, std::string_view message);

  port::Transport& transport_;
  port::Clock& clock_;
  MutableByteView buffer_;
  FuseOtaOptions options_;
  int last_code_ = 0;
  int last_http_status_ = 0;
  char last_message_[64] = {};
};

}  // namespace onenet::ota
