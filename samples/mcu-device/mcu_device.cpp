#include "mcu_device.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "onenet/json_walker.hpp"
#include "onenet/model/topics.hpp"

namespace mcu_sample {
namespace {

using onenet::Status;
using onenet::lite_json::ObjectWalker;

// A plain decimal integer that fits 32 bits (no sign, fraction or exponent).
bool parse_whole_number(std::string_view text, uint32_t* out) {
  uint64_t value = 0;
  if (!onenet::lite_json::read_unsigned(text, &value) || value > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

// An "id" member's value into `id` (NUL-terminated), when it is a string without escapes that
// fits whole; else `id` is left as it is.
void copy_id(std::string_view value, char* id, size_t id_capacity) {
  std::string_view text;
  if (onenet::lite_json::read_plain_string(value, &text) && text.size() < id_capacity) {
    std::memcpy(id, text.data(), text.size());
    id[text.size()] = '\0';
  }
}

// A reply's "code" member, or -1 when it has none that is a whole number; its id into `id`
// (when given) as copy_id reads it, empty when it has none.
int32_t reply_code(std::string_view payload, char* id = nullptr, size_t id_capacity = 0) {
  if (id_capacity > 0) id[0] = '\0';
  ObjectWalker reply(payload);
  std::string_view key, value;
  uint32_t code = 0;
  int32_t found = -1;
  while (reply.next(&key, &value)) {
    if (key == "code") found = parse_whole_number(value, &code) ? static_cast<int32_t>(code) : -1;
    if (key == "id" && id_capacity > 0) copy_id(value, id, id_capacity);
  }
  return found;
}

IntervalSet refused(const char* problem) {
  IntervalSet result;
  result.problem = problem;
  return result;
}

DesiredInterval refused_desired(const char* problem) {
  DesiredInterval result;
  result.problem = problem;
  return result;
}

}  // namespace

DesiredInterval parse_desired_interval(std::string_view payload, char* id, size_t id_capacity) {
  if (id_capacity > 0) id[0] = '\0';
  ObjectWalker reply(payload);
  std::string_view key, value, data;
  bool have_data = false;
  bool success = false;
  uint32_t code = 0;
  // The last of a repeated member counts, as JSON libraries read it.
  while (reply.next(&key, &value)) {
    if (key == "id") {
      copy_id(value, id, id_capacity);
    } else if (key == "code") {
      success = parse_whole_number(value, &code) && code == 200;
    } else if (key == "data") {
      data = value;
      have_data = true;
    }
  }
  if (reply.malformed()) return refused_desired("malformed JSON");
  if (!success) return refused_desired("the reply's code is not 200");
  if (!have_data || data.front() != '{') return refused_desired("data: expected an object");

  ObjectWalker held(data);
  std::string_view entry;
  bool have_entry = false;
  while (held.next(&key, &value)) {
    if (key == "interval") {
      entry = value;
      have_entry = true;
    }
  }
  if (held.malformed()) return refused_desired("malformed JSON");
  DesiredInterval result;
  if (!have_entry) {
    result.outcome = DesiredInterval::kNone;
    return result;
  }
  constexpr const char* kShape = "interval: expected {\"value\": 1..3600, \"version\": n}";
  if (entry.front() != '{') return refused_desired(kShape);
  ObjectWalker fields(entry);
  bool value_ok = false;
  bool version_ok = false;
  while (fields.next(&key, &value)) {
    if (key == "value") {
      value_ok = parse_whole_number(value, &result.seconds) && result.seconds >= 1 &&
                 result.seconds <= 3600;
    } else if (key == "version") {
      version_ok = parse_whole_number(value, &result.version) && result.version >= 1;
    }
  }
  if (fields.malformed()) return refused_desired("malformed JSON");
  if (!value_ok || !version_ok) return refused_desired(kShape);
  result.outcome = DesiredInterval::kTaken;
  return result;
}

IntervalSet parse_interval_set(std::string_view payload, char* id, size_t id_capacity) {
  if (id_capacity > 0) id[0] = '\0';
  ObjectWalker request(payload);
  std::string_view key, value, params;
  bool have_params = false;
  while (request.next(&key, &value)) {
    if (key == "id") {
      copy_id(value, id, id_capacity);
    } else if (key == "params") {
      params = value;
      have_params = true;
    }
  }
  if (request.malformed()) return refused("malformed JSON");
  if (!have_params || params.front() != '{') return refused("params: expected an object");

  ObjectWalker members(params);
  uint32_t seconds = 0;
  bool have_interval = false;
  while (members.next(&key, &value)) {
    if (key != "interval") return refused("only interval can be set");
    if (!parse_whole_number(value, &seconds) || seconds < 1 || seconds > 3600)
      return refused("interval: expected an integer from 1 to 3600");
    have_interval = true;
  }
  if (members.malformed()) return refused("malformed JSON");
  if (!have_interval) return refused("params: nothing to set");
  IntervalSet result;
  result.ok = true;
  result.seconds = seconds;
  return result;
}

// Whether snprintf wrote all of a payload into payload_ (it is sized for every payload this
// device writes; a cut one must not be sent, nor a length past the buffer).
bool McuDevice::fits(int length) {
  if (length >= 0 && static_cast<size_t>(length) < sizeof payload_) return true;
  logf("payload does not fit in %u bytes: not sent", static_cast<unsigned>(sizeof payload_));
  return false;
}

McuDevice::McuDevice(onenet::port::Transport& transport, onenet::port::Clock& clock,
                     onenet::port::HmacFunction hmac, onenet::port::RandomFunction random,
                     UnixSecondsFunction unix_seconds, LogFunction log)
    : clock_(clock),
      hmac_(hmac),
      unix_seconds_(unix_seconds),
      log_(log),
      client_(transport, clock, random, storage_.view(), *this) {}

Status McuDevice::enable_ota(onenet::port::Transport& api, const FirmwareSlot& slot,
                             std::string_view running_version) {
  if (!onenet::ota::valid_version(running_version) || slot.write == nullptr ||
      slot.install == nullptr || slot.capacity == 0)
    return Status::kInvalidArgument;
  api_ = &api;
  slot_ = slot;
  std::memcpy(firmware_version_, running_version.data(), running_version.size());
  firmware_version_[running_version.size()] = '\0';
  return Status::kOk;
}

Status McuDevice::start(const Identity& identity) {
  identity_ = identity;
  if (identity.product.size() > kMaxName || identity.device.size() > kMaxName)
    return Status::kInvalidArgument;
  std::snprintf(resource_, sizeof resource_, "products/%.*s/devices/%.*s",
                static_cast<int>(identity.product.size()), identity.product.data(),
                static_cast<int>(identity.device.size()), identity.device.data());
  using onenet::model::Operation;
  const onenet::Result<size_t> lengths[] = {
      onenet::model::make_thing_filter(filter_, sizeof filter_, identity.product, identity.device),
      onenet::model::make_topic(post_topic_, sizeof post_topic_, identity.product, identity.device,
                                Operation::kPropertyPost),
      onenet::model::make_topic(set_reply_topic_, sizeof set_reply_topic_, identity.product,
                                identity.device, Operation::kPropertySet, /*reply=*/true),
      onenet::model::make_topic(desired_get_topic_, sizeof desired_get_topic_, identity.product,
                                identity.device, Operation::kDesiredGet),
      onenet::model::make_topic(desired_delete_topic_, sizeof desired_delete_topic_,
                                identity.product, identity.device, Operation::kDesiredDelete)};
  for (const auto& length : lengths) {
    if (!length) return length.status();
  }
  // OTA's topics are not OneJSON's (the topic table does not build them): written here.
  const auto product = static_cast<int>(identity.product.size());
  const auto device = static_cast<int>(identity.device.size());
  std::snprintf(ota_inform_topic_, sizeof ota_inform_topic_, "$sys/%.*s/%.*s/ota/inform", product,
                identity.product.data(), device, identity.device.data());
  std::snprintf(ota_reply_topic_, sizeof ota_reply_topic_, "$sys/%.*s/%.*s/ota/inform_reply",
                product, identity.product.data(), device, identity.device.data());
  // A first token now, so a bad key is said at start and not at every login.
  const onenet::Result<size_t> token_length = sign_token();
  if (!token_length) return token_length.status();

  onenet::client::Options options;
  options.profile = onenet::client::Profile::kOneNet;  // OneNET's rules, checked locally
  options.connect.client_id = identity.device;
  options.connect.has_username = true;
  options.connect.username = identity.product;
  options.connect.has_password = true;
  options.connect.password = std::string_view(token_, token_length.value());
  Status s = client_.configure(options);
  if (s != Status::kOk) return s;
  const onenet::codec::Subscription downlinks[] = {
      {filter_, onenet::codec::QoS::kAtMostOnce},
      {ota_inform_topic_, onenet::codec::QoS::kAtMostOnce}};
  s = client_.subscribe(downlinks, api_ != nullptr ? 2 : 1);
  if (s != Status::kOk) return s;
  return client_.start();
}

void McuDevice::poll(uint32_t max_wait_ms, int32_t temperature_tenths) {
  client_.poll(max_wait_ms);
  if (desired_due_ && client_.state() == onenet::client::State::kConnected) {
    desired_due_ = false;
    ask_desired();
  }
  if (client_.state() == onenet::client::State::kConnected && clock_.now_ms() >= next_report_ms_) {
    next_report_ms_ = clock_.now_ms() + uint64_t{interval_s_} * 1000;
    report(temperature_tenths);
  }
  if (update_due_ && client_.state() == onenet::client::State::kConnected) {
    update_due_ = false;
    update_firmware();
  }
}

void McuDevice::stop() {
  client_.disconnect();
}

// A fresh token before every login (section 1): a device that runs for months never presents
// an expired one.
void McuDevice::before_connect(onenet::codec::Connect& connect) {
  const onenet::Result<size_t> n = sign_token();
  if (!n) {
    logf("cannot sign the token: error %d", static_cast<int>(n.status()));
    return;
  }
  connect.has_password = true;
  connect.password = std::string_view(token_, n.value());
}

onenet::Result<size_t> McuDevice::sign_token() {
  onenet::auth::TokenRequest request;
  request.resource = resource_;
  request.access_key = identity_.key;
  request.expires_at = unix_seconds_() + kTokenLifetimeSeconds;
  return onenet::auth::sign_token(request, hmac_, token_, sizeof token_);
}

void McuDevice::report(int32_t temperature_tenths) {
  // Tenths printed as integers: newlib-nano's printf has no %f unless the firmware links it in.
  const char* sign = temperature_tenths < 0 ? "-" : "";
  // In unsigned arithmetic, so that even INT32_MIN has a magnitude.
  const uint32_t as_unsigned = static_cast<uint32_t>(temperature_tenths);
  const uint32_t magnitude = temperature_tenths < 0 ? 0u - as_unsigned : as_unsigned;
  const int length = std::snprintf(
      payload_, sizeof payload_,
      "{\"id\":\"%lu\",\"version\":\"1.0\",\"params\":{\"temperature\":{\"value\":%s%lu.%lu}}}",
      static_cast<unsigned long>(next_id_++), sign, static_cast<unsigned long>(magnitude / 10),
      static_cast<unsigned long>(magnitude % 10));
  if (!publish_payload(post_topic_, length, onenet::codec::QoS::kAtLeastOnce, "report")) return;
  ++reports_sent_;
  logf("reported temperature %s%lu.%lu", sign, static_cast<unsigned long>(magnitude / 10),
       static_cast<unsigned long>(magnitude % 10));
}

void McuDevice::on_message(const onenet::client::Message& message) {
  const std::string_view payload_text(reinterpret_cast<const char*>(message.payload.data),
                                      message.payload.size);
  if (api_ != nullptr && message.topic == ota_inform_topic_) return answer_ota_inform(payload_text);
  onenet::model::TopicParts parts;
  if (!onenet::model::parse_topic(message.topic, &parts)) return;
  const std::string_view payload(reinterpret_cast<const char*>(message.payload.data),
                                 message.payload.size);
  using onenet::model::Operation;
  if (parts.operation == Operation::kPropertyPost && parts.is_reply) {
    // The reply's code; 200 is success (section 4.3).
    if (reply_code(payload) == 200) {
      ++reports_accepted_;
      logf("report accepted (%lu of %lu)", static_cast<unsigned long>(reports_accepted_),
           static_cast<unsigned long>(reports_sent_));
    } else {
      logf("report refused: %.*s", static_cast<int>(payload.size()), payload.data());
    }
  } else if (parts.operation == Operation::kPropertySet && !parts.is_reply) {
    answer_set(payload);
  } else if (parts.operation == Operation::kDesiredGet && parts.is_reply) {
    take_desired(payload);
  } else if (parts.operation == Operation::kDesiredDelete && parts.is_reply) {
    desired_deleted(payload);
  }
}

// payload_'s first `length` bytes (as snprintf returned it) to `topic`; false, and said, when
// they do not fit or the client cannot take them. `what` names the message in the log.
bool McuDevice::publish_payload(const char* topic, int length, onenet::codec::QoS qos,
                                const char* what) {
  if (!fits(length)) return false;
  const onenet::Result<uint16_t> sent = client_.publish(
      topic, onenet::ByteView(reinterpret_cast<const uint8_t*>(payload_), size_t(length)), qos);
  if (!sent) logf("%s not sent: error %d", what, static_cast<int>(sent.status()));
  return static_cast<bool>(sent);
}

// Desired values (section 4.2): what an application left while the device was away.
void McuDevice::ask_desired() {
  std::snprintf(desired_get_id_, sizeof desired_get_id_, "%lu",
                static_cast<unsigned long>(next_id_++));
  const int length = std::snprintf(payload_, sizeof payload_,
                                   "{\"id\":\"%s\",\"version\":\"1.0\",\"params\":[\"interval\"]}",
                                   desired_get_id_);
  if (!publish_payload(desired_get_topic_, length, onenet::codec::QoS::kAtLeastOnce, "desired/get"))
    desired_get_id_[0] = '\0';
}

// The reply to ask_desired(): the interval applied, then deleted with the version applied, so
// that one an application set meanwhile (a newer version) stays for the next login.
void McuDevice::take_desired(std::string_view payload) {
  char id[sizeof desired_get_id_];
  const DesiredInterval desired = parse_desired_interval(payload, id, sizeof id);
  if (desired_get_id_[0] == '\0' || std::strcmp(id, desired_get_id_) != 0) return;  // not ours
  desired_get_id_[0] = '\0';
  if (desired.outcome == DesiredInterval::kNone) {
    logf("no desired interval held");
    return;
  }
  if (desired.outcome == DesiredInterval::kRefused) {
    logf("desired interval refused: %s", desired.problem);
    return;
  }
  interval_s_ = desired.seconds;
  next_report_ms_ = clock_.now_ms() + uint64_t{interval_s_} * 1000;
  logf("desired interval = %lu s (version %lu) applied", static_cast<unsigned long>(interval_s_),
       static_cast<unsigned long>(desired.version));
  desired_version_ = desired.version;
  std::snprintf(desired_delete_id_, sizeof desired_delete_id_, "%lu",
                static_cast<unsigned long>(next_id_++));
  const int length = std::snprintf(
      payload_, sizeof payload_,
      "{\"id\":\"%s\",\"version\":\"1.0\",\"params\":{\"interval\":{\"version\":%lu}}}",
      desired_delete_id_, static_cast<unsigned long>(desired_version_));
  if (!publish_payload(desired_delete_topic_, length, onenet::codec::QoS::kAtLeastOnce,
                       "desired/delete"))
    desired_delete_id_[0] = '\0';
}

void McuDevice::desired_deleted(std::string_view payload) {
  char id[sizeof desired_delete_id_];
  const int32_t code = reply_code(payload, id, sizeof id);
  if (desired_delete_id_[0] == '\0' || std::strcmp(id, desired_delete_id_) != 0) return;
  desired_delete_id_[0] = '\0';
  if (code == 200) {
    logf("desired interval version %lu deleted", static_cast<unsigned long>(desired_version_));
  } else {
    logf("desired interval not deleted: code %ld", static_cast<long>(code));
  }
}

void McuDevice::answer_set(std::string_view payload) {
  char id[24];
  const IntervalSet set = parse_interval_set(payload, id, sizeof id);
  if (id[0] == '\0') {
    logf("property set without a readable id: not answered");
    return;
  }
  if (set.ok) {
    interval_s_ = set.seconds;
    next_report_ms_ = clock_.now_ms() + uint64_t{interval_s_} * 1000;
    logf("property set: interval = %lu s", static_cast<unsigned long>(interval_s_));
  } else {
    logf("property set refused: %s", set.problem);
  }
  const int length =
      std::snprintf(payload_, sizeof payload_, "{\"id\":\"%s\",\"code\":%d,\"msg\":\"%s\"}", id,
                    set.ok ? 200 : 400, set.ok ? "success" : set.problem);
  publish_payload(set_reply_topic_, length, onenet::codec::QoS::kAtMostOnce, "set_reply");
}

// ota/inform: a new task. Answered at once ({id, code}, as OneJSON replies); the check and the
// download run from poll(), outside the client's callback.
void McuDevice::answer_ota_inform(std::string_view payload) {
  char id[24] = "";
  ObjectWalker notice(payload);
  std::string_view key, value, text;
  while (notice.next(&key, &value)) {
    if (key == "id" && onenet::lite_json::read_plain_string(value, &text) &&
        text.size() < sizeof id) {
      std::memcpy(id, text.data(), text.size());
      id[text.size()] = '\0';
    }
  }
  logf("ota/inform: an update is offered");
  update_due_ = true;
  if (id[0] == '\0') return;  // nothing to answer to
  const int length = std::snprintf(payload_, sizeof payload_,
                                   "{\"id\":\"%s\",\"code\":200,\"msg\":\"success\"}", id);
  publish_payload(ota_reply_topic_, length, onenet::codec::QoS::kAtMostOnce, "ota/inform_reply");
}

// A piece of the package: to the flash slot, then the MQTT client runs a little, so that a
// long download does not starve its keep-alive.
Status McuDevice::take_piece(void* context, uint32_t offset, onenet::ByteView piece) {
  auto& device = *static_cast<McuDevice*>(context);
  // A quarter reached: the download pauses before this piece (unwritten: it comes again).
  if (device.pause_at_ != 0 && offset >= device.pause_at_) return Status::kProvisionDownloadPaused;
  const Status written = device.slot_.write(device.slot_.context, offset, piece);
  if (written != Status::kOk) return written;
  device.client_.poll(0);
  return Status::kOk;
}

// Report the version running (once a start), check for a task, download it into the slot,
// install it, and report each step and the new version.
void McuDevice::update_firmware() {
  const onenet::Result<size_t> token_length = sign_token();
  if (!token_length) return;
  onenet::ota::FuseOtaClient ota(*api_, clock_,
                                 onenet::MutableByteView(ota_buffer_, sizeof ota_buffer_));
  const onenet::ota::Caller caller{identity_.product, identity_.device,
                                   std::string_view(token_, token_length.value())};
  if (!version_reported_) {
    const Status s = ota.report_version(caller, firmware_version_, "");
    version_reported_ = s == Status::kOk;
    if (!version_reported_)
      logf("version not reported: error %d (%s)", static_cast<int>(s), ota.last_message());
  }
  onenet::ota::Task task;
  Status s = ota.check(caller, onenet::ota::Kind::kFirmware, firmware_version_, &task);
  if (s == Status::kProvisionNoOtaTask) {
    logf("firmware %s is current", firmware_version_);
    return;
  }
  if (s != Status::kOk) {
    logf("update check failed: error %d (%s)", static_cast<int>(s), ota.last_message());
    return;
  }
  logf("update to %s: %lu bytes", task.target, static_cast<unsigned long>(task.size));
  if (task.size > slot_.capacity) {
    // Refused before a byte is fetched: the legacy table's 102 is "not enough room".
    s = ota.report_step(caller, task.tid, 102);
    logf("the package does not fit the slot (%lu bytes): not downloaded, step 102 %s",
         static_cast<unsigned long>(slot_.capacity),
         s == Status::kOk ? "reported" : "not reported");
    return;
  }
  uint32_t received = 0;
  onenet::ota::Md5 digest;
  // Progress at each quarter (steps 0-100 are download percentages, section 5.5). The one
  // transport carries one request at a time: the download pauses, the step goes out, and the
  // download goes on from the bytes received.
  for (int quarters = 0;; ++quarters) {
    pause_at_ = quarters < 3 ? static_cast<uint32_t>(uint64_t{task.size} * (quarters + 1) / 4) : 0;
    s = ota.download(caller, task, &received, &digest, take_piece, this);
    if (s != Status::kProvisionDownloadPaused) break;
    const Status reported = ota.report_step(caller, task.tid, (quarters + 1) * 25);
    logf("downloaded %d%% (%lu bytes)%s", (quarters + 1) * 25, static_cast<unsigned long>(received),
         reported == Status::kOk ? "" : ", not reported");
  }
  pause_at_ = 0;
  if (s != Status::kOk) {
    logf("download failed at %lu bytes: error %d (%s)", static_cast<unsigned long>(received),
         static_cast<int>(s), ota.last_message());
    // 205 MD5, 104 timeout, 106 the link, 107 anything else; nothing when the task is gone.
    const int step = onenet::ota::download_failure_step(s);
    if (step != 0) ota.report_step(caller, task.tid, step);
    return;
  }
  logf("downloaded %lu bytes, MD5 %s checked", static_cast<unsigned long>(received), task.md5);
  ota.report_step(caller, task.tid, 101);
  if (!slot_.install(slot_.context, task)) {
    logf("install of %s failed", task.target);
    ota.report_step(caller, task.tid, 206);
    return;
  }
  // On a board the restart comes here, and the new firmware reports 201 and its version at
  // its first login; this sample runs on.
  std::memcpy(firmware_version_, task.target, sizeof firmware_version_);
  ++updates_installed_;
  s = ota.report_step(caller, task.tid, 201);
  if (s == Status::kOk) s = ota.report_version(caller, firmware_version_, "");
  logf("installed %s%s", firmware_version_, s == Status::kOk ? "" : " (not reported)");
}

void McuDevice::on_state(onenet::client::State state, Status reason) {
  if (state == onenet::client::State::kConnected) {
    logf("connected");
    desired_due_ = true;  // left while the device was away, or since its last login
    // At the first login after a start (a restart, on a board): report the version running,
    // and look for an update that was made while the device was off.
    if (api_ != nullptr && !version_reported_) update_due_ = true;
  } else if (state == onenet::client::State::kBackoff) {
    logf("link down (error %d), reconnecting", static_cast<int>(reason));
  } else if (state == onenet::client::State::kIdle) {
    logf("disconnected");
  }
}

void McuDevice::on_subscribed(std::string_view filter, Status result, onenet::codec::QoS) {
  if (result != Status::kOk)
    logf("subscription %.*s refused", static_cast<int>(filter.size()), filter.data());
}

void McuDevice::logf(const char* format, ...) {
  char line[160];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  log_(line);
}

}  // namespace mcu_sample
