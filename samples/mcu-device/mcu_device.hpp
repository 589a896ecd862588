// A OneNET device written as it is on a microcontroller: the SDK's portable core only (the MQTT
// client, token signing, the OneJSON topic table and fuse-ota), every buffer static, no heap,
// exceptions, RTTI or JSON library. It reports a temperature at QoS 1 every `interval` seconds,
// counts the cloud's replies, answers property/set of `interval` on set_reply, and, with OTA on,
// takes firmware updates: at start and on each ota/inform it checks fuse-ota for a task,
// downloads the package into its spare flash slot with the MD5 checked (pausing at each quarter
// to report its progress), installs it and reports the steps and its new version. At each login it
// asks for a desired interval that an application left while it was away (property/desired/get),
// applies it, and deletes the version it applied (property/desired/delete).
//
// Everything outside the SDK is the port, given by the caller: the transport, clocks, HMAC,
// random source and a log line sink. main_linux.cpp gives the Linux port; a firmware gives its
// own (tests/package/firmware links this file for Cortex-M4 with a stub port).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/auth/token.hpp"
#include "onenet/client/client.hpp"
#include "onenet/ota/fuse_ota.hpp"
#include "onenet/port.hpp"

namespace mcu_sample {

using UnixSecondsFunction = uint64_t (*)();      ///< wall clock, for the token's et
using LogFunction = void (*)(const char* line);  ///< one line, no newline (a UART, stdout)

/// The device's identity. Borrowed: the strings must outlive the device.
struct Identity {
  std::string_view product;
  std::string_view device;
  std::string_view key;  ///< the device key, Base64, as the console shows it
};

/// The spare flash slot an update is written to, given by the port. Borrowed.
struct FirmwareSlot {
  /// Writes the package's next piece at `offset` of the slot; kOk, or why not (the download
  /// then stops and step 107 is reported).
  onenet::ota::PackageSink write = nullptr;
  /// Called once the package is whole and its MD5 checked: installs it (on a board, marks the
  /// slot bootable for the restart). False when it cannot (step 206 is reported).
  bool (*install)(void* context, const onenet::ota::Task& task) = nullptr;
  void* context = nullptr;  ///< given to both
  /// Bytes the slot holds: a larger package is not downloaded (step 102, no room).
  uint32_t capacity = 0;
};

/// The `interval` a property/set carries, or why it cannot be taken.
struct IntervalSet {
  bool ok = false;
  uint32_t seconds = 0;
  const char* problem = "";  ///< the reply's msg when !ok
};

/// What a property/desired/get reply (section 4.2) says of `interval`.
struct DesiredInterval {
  enum Outcome {
    kRefused,  ///< not a reply this device can take (see problem)
    kNone,     ///< code 200, and no desired interval is held
    kTaken,    ///< code 200 with a desired interval from 1 to 3600 and its version
  } outcome = kRefused;
  uint32_t seconds = 0;
  uint32_t version = 0;      ///< the version to delete once applied (at least 1)
  const char* problem = "";  ///< why, when kRefused
};

/// Reads a property/desired/get reply as this device takes it: `"code":200` and
/// `"data":{"interval":{"value":N,"version":V}}` (N an integer from 1 to 3600, V a whole number
/// from 1; other members of data are passed over), or `"data":{}` (none held). `id` receives
/// the reply's id as parse_interval_set's does, so that only the reply to this device's own
/// request is taken.
DesiredInterval parse_desired_interval(std::string_view payload, char* id, size_t id_capacity);

/// Reads a property/set payload as this device takes it: `"params":{"interval":N}` with N an
/// integer from 1 to 3600 and no other member. Anything else (another member, a fraction, a
/// string, malformed text) is refused with the reason. `id` receives the request's id (at most
/// `id_capacity - 1` characters, NUL-terminated; empty when it cannot be read).
IntervalSet parse_interval_set(std::string_view payload, char* id, size_t id_capacity);

class McuDevice : public onenet::client::Handler {
 public:
  /// The port's pieces, borrowed for the device's life.
  McuDevice(onenet::port::Transport& transport, onenet::port::Clock& clock,
            onenet::port::HmacFunction hmac, onenet::port::RandomFunction random,
            UnixSecondsFunction unix_seconds, LogFunction log);

  /// Turns firmware updates on, before start(): `api` is a transport to OneNET's HTTP API
  /// (iot-api.heclouds.com, port 80, or a TLS layer on 443), `running_version` the firmware's
  /// version (1-20 of [A-Za-z0-9_.-]). All borrowed for the device's life. kInvalidArgument for
  /// a version fuse-ota refuses, or a slot without both functions or without room.
  onenet::Status enable_ota(onenet::port::Transport& api, const FirmwareSlot& slot,
                            std::string_view running_version);

  /// Checks the identity (its topics must fit the static buffers, its key must decode), asks
  /// for $sys/{product}/{device}/thing/# (and ota/inform with OTA on) and starts connecting.
  /// Returns kOk, kInvalidArgument (names too long for this device's buffers) or the token's or the
  /// client's refusal.
  onenet::Status start(const Identity& identity);

  /// The main loop's call: runs the client (waiting at most `max_wait_ms`) and reports
  /// `temperature_tenths` (tenths of a degree) once connected and the interval has passed.
  /// With OTA on, an update check due (at the first connection, and after each ota/inform) is
  /// made here: it blocks while it runs (each HTTP step for at most 10 s), and polls the
  /// client between the package's pieces.
  void poll(uint32_t max_wait_ms, int32_t temperature_tenths);

  /// Sends DISCONNECT and closes the link.
  void stop();

  uint32_t interval_s() const { return interval_s_; }
  uint32_t reports_sent() const { return reports_sent_; }
  uint32_t reports_accepted() const { return reports_accepted_; }
  onenet::client::State state() const { return client_.state(); }
  const char* firmware_version() const { return firmware_version_; }
  uint32_t updates_installed() const { return updates_installed_; }

 private:
  void on_state(onenet::client::State state, onenet::Status reason) override;
  void on_message(const onenet::client::Message& message) override;
  void on_subscribed(std::string_view filter, onenet::Status result,
                     onenet::codec::QoS granted) override;
  void before_connect(onenet::codec::Connect& connect) override;

  onenet::Result<size_t> sign_token();  // into token_
  bool fits(int length);
  void report(int32_t temperature_tenths);
  void answer_set(std::string_view payload);
  void ask_desired();
  void take_desired(std::string_view payload);
  void desired_deleted(std::string_view payload);
  bool publish_payload(const char* topic, int length, onenet::codec::QoS qos, const char* what);
  void answer_ota_inform(std::string_view payload);
  void update_firmware();
  static onenet::Status take_piece(void* context, uint32_t offset, onenet::ByteView piece);
  void logf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  // A day: a token is signed before every login, so it only has to outlive one connection's
  // start (OneNET checks et at CONNECT).
  static constexpr uint64_t kTokenLifetimeSeconds = 24 * 3600;
  static constexpr size_t kMaxName = 64;  // OneNET's device names; product ids are 10

  onenet::port::Clock& clock_;
  onenet::port::HmacFunction hmac_;
  UnixSecondsFunction unix_seconds_;
  LogFunction log_;
  Identity identity_;

  // Subscriptions: thing/# and ota/inform, each at most 6 + 30 + 2 * kMaxName bytes.
  onenet::client::StaticStorage<512, 384, 1024, 4, 2 * (36 + 2 * kMaxName)> storage_;
  onenet::client::Client client_;
  char resource_[24 + 2 * kMaxName];  // "products/{pid}/devices/{dev}"
  char token_[onenet::auth::max_token_length(sizeof resource_, 10) + 1];
  char filter_[24 + 2 * kMaxName];
  char post_topic_[48 + 2 * kMaxName];
  char set_reply_topic_[48 + 2 * kMaxName];
  char payload_[160];
  char desired_get_topic_[48 + 2 * kMaxName];
  char desired_delete_topic_[48 + 2 * kMaxName];
  char ota_inform_topic_[48 + 2 * kMaxName];
  char ota_reply_topic_[48 + 2 * kMaxName];

  // OTA (off until enable_ota): the API's link, its buffer, and the flash slot.
  onenet::port::Transport* api_ = nullptr;
  FirmwareSlot slot_;
  uint8_t ota_buffer_[1024];
  char firmware_version_[21] = "";
  bool update_due_ = false;
  uint32_t pause_at_ = 0;  // the download pauses at the first piece from here (0: never)
  bool version_reported_ = false;
  uint32_t updates_installed_ = 0;

  // Desired values: asked for at each login; the ids of the requests whose replies are awaited.
  bool desired_due_ = false;
  char desired_get_id_[12] = "";
  char desired_delete_id_[12] = "";
  uint32_t desired_version_ = 0;  // the version being deleted

  uint32_t interval_s_ = 5;
  uint64_t next_report_ms_ = 0;
  uint32_t next_id_ = 1;
  uint32_t reports_sent_ = 0;
  uint32_t reports_accepted_ = 0;
};

}  // namespace mcu_sample
