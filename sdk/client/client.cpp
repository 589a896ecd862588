#include "onenet/client/client.hpp"

#include <cstring>

#include "onenet/codec/topic.hpp"

namespace onenet::client {
namespace {

using codec::PacketType;
using codec::QoS;

// Outgoing QoS 1/2 message states. A message is resent from the outbox, so the PUBLISH frame is
// kept until the last acknowledgement.
enum : uint8_t {
  kEntryFree = 0,
  kEntryQueuedPublish,  // PUBLISH to send (new, or again after a reconnect)
  kEntryAwaitPuback,
  kEntryAwaitPubrec,
  kEntryQueuedPubrel,  // PUBREC came; PUBREL to send
  kEntryAwaitPubcomp,
  kEntryDoneDelivered,  // finished during a reconnect; reported once the table is consistent
  kEntryDoneLost,
  kEntryQueuedQos0,  // a QoS 0 PUBLISH waiting in the outbox (see publish), to send once
  kEntrySentQos0,    // handed to the transport (or dropped with its link): to forget
};

enum : uint8_t {
  kSubFree = 0,
  kSubPending,  // SUBSCRIBE to send
  kSubAwaitSuback,
  kSubActive,
  kUnsubPending,  // UNSUBSCRIBE to send
  kUnsubAwait,
};
// A record awaiting SUBACK or UNSUBACK keeps that state until the answer comes: it holds the
// packet's id, and its place among the SUBACK's codes, which follow the SUBSCRIBE's filters. What
// the caller asks for it meanwhile is kept in these bits and done once the answer is in.
// Each is the state to take then, shifted: `then >> 4` is the state after the answer.
constexpr uint8_t kThenSubscribe = kSubPending << 4;
constexpr uint8_t kThenUnsubscribe = kUnsubPending << 4;
constexpr uint8_t kThenMask = 0xF0;

// The state without what follows it.
uint8_t base_of(uint8_t state) {
  return state & ~kThenMask;
}

// Out of line (both): called from several places, inlined they took 18 B more of flash.
[[gnu::noinline]] bool awaits_answer(uint8_t state) {
  const uint8_t base = base_of(state);
  return base == kSubAwaitSuback || base == kUnsubAwait;
}

// Whether the caller wants the filter subscribed, once everything asked has been done.
[[gnu::noinline]] bool wants_subscription(uint8_t state) {
  const uint8_t then = state & kThenMask;
  if (then != 0) return then == kThenSubscribe;
  return static_cast<uint8_t>(state - kSubPending) <= kSubActive - kSubPending;
}

// The subscription table (Storage::subscriptions) holds packed records in subscription order
// (SUBACK codes follow it): [state][qos][packet id: 2 bytes][filter length: 2 bytes][filter].
// A record is as long as its filter, so a table costs what its filters need. Its length and
// filter, big-endian, are already an entry of SUBSCRIBE and UNSUBSCRIBE as the wire has it
// [MQTT-3.8.3], [MQTT-3.10.3]: those packets are copied out of the table (encode_batch).
constexpr size_t kRecordHeader = 6;
constexpr size_t kRecordWireEntry = 4;  // where the record's [length][filter] begins

uint16_t read16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void write16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}
size_t record_size(const uint8_t* record) {
  return kRecordHeader + read16(record + 4);
}
std::string_view record_filter(const uint8_t* record) {
  return std::string_view(reinterpret_cast<const char*>(record + kRecordHeader),
                          read16(record + 4));
}
uint16_t record_packet_id(const uint8_t* record) {
  return read16(record + 2);
}

// A SUBSCRIBE or UNSUBSCRIBE is built whole in tx: its fixed header (at most 5 bytes) and packet
// id take this much beside the entries, so tx bounds the entries of one packet.
constexpr size_t kBatchOverhead = 7;

// Whether a packet of this one filter (and its QoS byte) fits a tx of `tx_capacity` bytes.
bool fits_one_packet(std::string_view filter, size_t tx_capacity) {
  return 2 + filter.size() + 1 + kBatchOverhead <= tx_capacity;
}

// The next SUBSCRIBE (or UNSUBSCRIBE): the first records in state `pending`, as many as
// `max_count` and `max_bytes` of entries allow.
struct SubscriptionBatch {
  uint8_t* table;
  uint32_t used;
  uint32_t max_bytes;
  uint8_t pending;
  uint8_t max_count;
  uint16_t packet_id;
};

// Measures the batch's entries; with `out`, writes them there and marks their records as
// awaiting the answer to packet_id. Stops before an entry that would pass max_bytes: a packet
// larger than tx would never leave (each entry alone fits: subscribe() and unsubscribe() check).
size_t write_batch_entries(const SubscriptionBatch& b, bool with_qos, uint8_t* out) {
  size_t length = 0;
  size_t count = 0;
  for (uint8_t* r = b.table; r < b.table + b.used && count < b.max_count; r += record_size(r)) {
    if (r[0] != b.pending) continue;
    const size_t entry = record_size(r) - kRecordWireEntry;
    if (length + entry + with_qos > b.max_bytes) break;
    ++count;
    if (out) {
      std::memcpy(out + length, r + kRecordWireEntry, entry);
      if (with_qos) out[length + entry] = r[1];
      r[0] = with_qos ? kSubAwaitSuback : kUnsubAwait;
      write16(r + 2, b.packet_id);
    }
    length += entry + with_qos;
  }
  return length;
}

// SUBSCRIBE or UNSUBSCRIBE straight from the table (subscribe() checked its filters), in the
// client's encoder signature. Flags 0010 [MQTT-3.8.1-1], [MQTT-3.10.1-1].
Result<size_t> encode_batch(const void* packet, MutableByteView out) {
  const SubscriptionBatch& b = *static_cast<const SubscriptionBatch*>(packet);
  const bool subscribe = b.pending == kSubPending;
  const uint8_t first = subscribe ? 0x82 : 0xA2;  // types 8 and 10, flags 0010
  // At most 16 filters of up to 65,535 bytes: far below kMaxRemainingLength.
  const auto remaining = static_cast<uint32_t>(2 + write_batch_entries(b, subscribe, nullptr));
  const size_t header = codec::encode_fixed_header(first, remaining, nullptr);
  if (out.size < header + remaining) return Status::kBufferTooSmall;
  codec::encode_fixed_header(first, remaining, out.data);
  write16(out.data + header, b.packet_id);
  write_batch_entries(b, subscribe, out.data + header + 2);
  return header + remaining;
}

constexpr uint8_t kDupBit = 0x08;
constexpr uint32_t kStableConnectionMs = 30000;  // a link this old resets the backoff
constexpr uint32_t kNoTimeoutMs = 3600000;
constexpr uint8_t kMaxFiltersPerPacket = 16;
// OneNET limits (onenet-protocol.md 2.4, 2.7, 2.8).
constexpr uint16_t kOneNetMinKeepAlive = 10;
constexpr uint16_t kOneNetMaxKeepAlive = 1800;
constexpr size_t kOneNetMaxPayload = 256 * 1024;
constexpr size_t kOneNetMaxSubscriptions = 10;
constexpr uint8_t kOneNetMaxFiltersPerPacket = 8;
constexpr uint32_t kOneNetMinReconnectMs = 2000;  // login limit: 3 per 5 s

// Time is kept in 32-bit milliseconds and compared as elapsed time (now - since), which stays
// right across the 49-day wrap and spares a 32-bit MCU 64-bit arithmetic.
uint32_t time_left(uint32_t since, uint32_t now, uint32_t period) {
  const uint32_t elapsed = now - since;
  return elapsed >= period ? 0 : period - elapsed;
}

// One encoder signature for every packet the client queues, so queue() exists once in flash
// rather than once per packet type.
template <typename Packet>
Result<size_t> encode_packet(const void* packet, MutableByteView out) {
  return codec::encode(*static_cast<const Packet*>(packet), out);
}

// PUBACK, PUBREC, PUBREL, PUBCOMP (with an id), PINGREQ and DISCONNECT (without).
struct ControlPacket {
  PacketType type;
  uint16_t packet_id;
};
Result<size_t> encode_control(const void* packet, MutableByteView out) {
  const ControlPacket& c = *static_cast<const ControlPacket*>(packet);
  return codec::encode_control(c.type, c.packet_id, out);
}

QoS qos_of_frame(uint8_t first_byte) {
  return static_cast<QoS>((first_byte >> 1) & 0x03);
}

Status connack_status(codec::ConnectReturnCode code) {
  switch (code) {
    case codec::ConnectReturnCode::kAccepted:
      return Status::kOk;
    case codec::ConnectReturnCode::kBadProtocolVersion:
      return Status::kClientConnackBadProtocol;
    case codec::ConnectReturnCode::kIdentifierRejected:
      return Status::kClientConnackIdRejected;
    case codec::ConnectReturnCode::kServerUnavailable:
      return Status::kClientConnackUnavailable;
    case codec::ConnectReturnCode::kBadUserNameOrPassword:
      return Status::kClientConnackBadCredentials;
    case codec::ConnectReturnCode::kNotAuthorized:
      return Status::kClientConnackNotAuthorized;
  }
  return Status::kClientConnackUnknown;
}

}  // namespace

const char* to_string(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kConnecting:
      return "connecting";
    case State::kAwaitingConnack:
      return "awaiting CONNACK";
    case State::kConnected:
      return "connected";
    case State::kBackoff:
      return "waiting to reconnect";
  }
  return "unknown";
}

Client::Client(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
               const Storage& storage, Handler& handler)
    :  // Offsets and counts are kept in 32 bits (a smaller client); configure() refuses more.
      storage_fits_(storage.rx.size <= UINT32_MAX && storage.tx.size <= UINT32_MAX &&
                    storage.outbox.size <= UINT32_MAX && storage.subscriptions.size <= UINT32_MAX &&
                    storage.inflight_capacity <= UINT32_MAX &&
                    storage.inbound_qos2_capacity <= UINT32_MAX),
      tx_capacity_(static_cast<uint32_t>(storage.tx.size)),
      outbox_capacity_(static_cast<uint32_t>(storage.outbox.size)),
      subscription_capacity_(static_cast<uint32_t>(storage.subscriptions.size)),
      inflight_capacity_(static_cast<uint32_t>(storage.inflight_capacity)),
      inbound_qos2_capacity_(static_cast<uint32_t>(storage.inbound_qos2_capacity)),
      transport_(transport),
      handler_(handler),
      tx_buffer_(storage.tx.data),
      outbox_buffer_(storage.outbox.data),
      inflight_table_(storage.inflight),
      subscription_table_(storage.subscriptions.data),
      inbound_qos2_ids_(storage.inbound_qos2),
      clock_(clock),
      random_(random),
      decoder_(storage.rx, storage.rx.size, codec::decode_body_from_server) {}

// ---- Configuration and profile rules -----------------------------------------------------------

Status Client::configure(const Options& options) {
  if (state_ != State::kIdle) return Status::kClientBusy;
  if (!storage_fits_ || decoder_.capacity() < 16 || tx_capacity_ < 16 ||
      options.connect_timeout_ms == 0 || options.backoff_max_ms < options.backoff_initial_ms) {
    return Status::kInvalidArgument;
  }
  const Result<size_t> connect_size = codec::encoded_size(options.connect);
  if (!connect_size) return connect_size.status();
  if (connect_size.value() > tx_capacity_) return Status::kClientMessageTooLarge;
  if (options.profile == Profile::kOneNet) {
    const codec::Connect& c = options.connect;
    // onenet-protocol.md 2.2-2.4: device name, product id and token are all required; clean
    // session, no will, keep-alive within 10..1800 s.
    if (c.client_id.empty() || !c.has_username || c.username.empty() || !c.has_password) {
      return Status::kInvalidArgument;
    }
    if (!c.clean_session) return Status::kClientRuleCleanSession;
    if (c.has_will) return Status::kClientRuleWill;
    if (c.keep_alive_seconds < kOneNetMinKeepAlive || c.keep_alive_seconds > kOneNetMaxKeepAlive) {
      return Status::kClientRuleKeepAlive;
    }
  }
  options_ = options;
  configured_ = true;
  return Status::kOk;
}

// "$sys/{product}/{device}/..." with product = user name and device = client id (section 2.8).
bool Client::in_device_space(std::string_view topic) const {
  const std::string_view product = options_.connect.username;
  const std::string_view device = options_.connect.client_id;
  const size_t prefix = 5 + product.size() + 1 + device.size() + 1;
  if (topic.size() <= prefix) return false;
  // memcmp over the checked length: substr() would add a bounds check and its error text.
  const char* const t = topic.data();
  return std::memcmp(t, "$sys/", 5) == 0 &&
         std::memcmp(t + 5, product.data(), product.size()) == 0 && t[5 + product.size()] == '/' &&
         std::memcmp(t + 6 + product.size(), device.data(), device.size()) == 0 &&
         t[prefix - 1] == '/';
}

Status Client::check_publish_rules(std::string_view topic, size_t payload_size, QoS qos,
                                   bool retain) const {
  if (options_.profile != Profile::kOneNet) return Status::kOk;
  if (static_cast<uint8_t>(qos) > 1) return Status::kClientRuleQos;
  if (retain) return Status::kClientRuleRetain;
  if (payload_size > kOneNetMaxPayload) return Status::kClientRulePayloadTooLarge;
  if (!in_device_space(topic)) return Status::kClientRuleTopic;
  return Status::kOk;
}

Status Client::check_filter_rules(std::string_view filter, QoS qos) const {
  const Status valid = codec::check_topic_filter(filter);
  if (valid != Status::kOk) return valid;
  if (static_cast<uint8_t>(qos) > 2) return Status::kCodecBadQos;
  if (options_.profile != Profile::kOneNet) return Status::kOk;
  if (static_cast<uint8_t>(qos) > 1) return Status::kClientRuleQos;
  if (!in_device_space(filter)) return Status::kClientRuleTopic;
  // Wildcards only from the fifth level: the level after the device prefix is literal.
  const size_t level4 =
      5 + options_.connect.username.size() + 1 + options_.connect.client_id.size() + 1;
  const char first = filter[level4];
  if (first == '+' || first == '#') return Status::kClientRuleWildcard;
  return Status::kOk;
}

// ---- State machine -----------------------------------------------------------------------------

void Client::set_state(State state, Status reason) {
  state_ = state;
  state_since_ms_ = now_ms();
  if (reason != Status::kOk) last_error_ = reason;
  handler_.on_state(state, reason);
}

Status Client::start() {
  if (!configured_) return Status::kInvalidArgument;
  if (state_ != State::kIdle) return Status::kClientBusy;
  attempts_ = 0;
  set_state(State::kConnecting, Status::kOk);
  return Status::kOk;
}

uint32_t Client::random32() {
  uint32_t value = 0;
  if (random_ == nullptr ||
      random_(MutableByteView(reinterpret_cast<uint8_t*>(&value), sizeof value)) != Status::kOk) {
    value = now_ms() * 2654435761u;  // still spreads clients apart
  }
  return value;
}

// Exponential backoff with full jitter: a delay drawn uniformly from [0, ceiling], the ceiling
// doubling per attempt up to backoff_max_ms. OneNET bans fast re-logins, so its profile adds a
// floor.
void Client::schedule_reconnect(Status reason) {
  if (!options_.auto_reconnect) {
    set_state(State::kIdle, reason);
    return;
  }
  const uint32_t max = options_.backoff_max_ms;
  uint32_t ceiling = options_.backoff_initial_ms;
  for (uint32_t i = 0; i < attempts_ && ceiling < max; ++i) {
    ceiling = ceiling > max / 2 ? max : ceiling * 2;
  }
  const uint32_t span = ceiling + 1;  // 0 only when ceiling is UINT32_MAX
  uint32_t delay = span == 0 ? random32() : random32() % span;
  if (options_.profile == Profile::kOneNet && delay < kOneNetMinReconnectMs) {
    delay = kOneNetMinReconnectMs;
  }
  ++attempts_;
  backoff_ms_ = delay;
  set_state(State::kBackoff, reason);
}

// A connection begins or ends: nothing buffered for the old one survives.
void Client::reset_link() {
  ++generation_;
  decoder_.reset();
  tx_start_ = tx_end_ = direct_start_ = direct_end_ = 0;
  ping_outstanding_ = false;
}

void Client::link_lost(Status reason) {
  transport_.close();
  reset_link();
  if (state_ == State::kConnected && now_ms() - connected_since_ms_ >= kStableConnectionMs) {
    attempts_ = 0;
  }
  schedule_reconnect(reason);
}

void Client::open_transport() {
  handler_.before_connect(options_.connect);
  const Status opened = transport_.open(options_.connect_timeout_ms);
  if (opened != Status::kOk) {
    transport_.close();
    // A setting that cannot work (no CA to verify with, a transport misconfigured) fails the
    // same way at every attempt: stop, and say why, rather than retry it forever.
    if (opened == Status::kTlsCaLoadFailed || opened == Status::kInvalidArgument) {
      set_state(State::kIdle, opened);
    } else {
      schedule_reconnect(opened);
    }
    return;
  }
  reset_link();
  set_state(State::kAwaitingConnack, Status::kOk);
  const Status queued = queue(encode_packet<codec::Connect>, &options_.connect);
  if (queued != Status::kOk) {  // before_connect produced an invalid CONNECT: nothing to retry
    transport_.close();
    set_state(State::kIdle, queued);
    return;
  }
  last_sent_ms_ = last_received_ms_ = now_ms();
  flush();
}

void Client::on_connack(const codec::Connack& connack) {
  const Status result = connack_status(connack.return_code);
  if (result != Status::kOk) {
    link_lost(result);
    return;
  }
  // Resend and resubscribe before anyone is told, so the handler's own publishes queue after.
  state_ = State::kConnected;
  connected_since_ms_ = now_ms();
  requeue_after_connect(connack.session_present);
  uint8_t* const table = subscription_table_;
  for (uint8_t* r = table; r < table + subscriptions_used_; r += record_size(r)) {
    uint8_t& state = r[0];
    if (connack.session_present) {
      // The broker kept the subscriptions [MQTT-3.2.2-2]; only unanswered requests go again.
      if (awaits_answer(state)) state = wants_subscription(state) ? kSubPending : kUnsubPending;
    } else if (state != kSubFree) {
      // A new session has none: subscribe again, and nothing to unsubscribe from.
      state = wants_subscription(state) ? kSubPending : kSubFree;
    }
  }
  compact_subscriptions();
  send_pending_subscriptions();
  send_queued_messages();
  flush();
  if (state_ != State::kConnected) return;
  set_state(State::kConnected, Status::kOk);
  finish_dropped_messages();
}

// After CONNACK: with the session resumed, unacknowledged PUBLISH and PUBREL go again with their
// original ids, PUBLISH with DUP set [MQTT-4.4.0-1], [MQTT-3.3.1-1]. Without it, RequeuePolicy
// decides (see client.hpp).
void Client::requeue_after_connect(bool session_present) {
  queued_count_ = 0;
  // QoS 2 ids received belong to their session: a new one may use them for new messages.
  if (!session_present) inbound_qos2_count_ = 0;
  for (size_t i = 0; i < inflight_span_; ++i) {
    InflightEntry& e = inflight_at(i);
    uint8_t& first = outbox_buffer_[e.offset];
    switch (e.state) {
      case kEntryAwaitPuback:
      case kEntryAwaitPubrec:
        if (session_present) {
          first |= kDupBit;
          e.state = kEntryQueuedPublish;
        } else if (options_.requeue == RequeuePolicy::kResend) {
          first &= static_cast<uint8_t>(~kDupBit);  // a new message in the new session
          e.state = kEntryQueuedPublish;
        } else {
          e.state = kEntryDoneLost;
        }
        break;
      case kEntryAwaitPubcomp:
      case kEntryQueuedPubrel:
        // PUBREC means the broker owns the message; a new session cannot take a PUBREL for it.
        e.state = session_present ? kEntryQueuedPubrel : kEntryDoneDelivered;
        break;
      case kEntryQueuedQos0:
        e.state = kEntrySentQos0;  // at most once: not sent on a later connection
        break;
      default:
        break;
    }
    if (e.state == kEntryQueuedPublish || e.state == kEntryQueuedPubrel) ++queued_count_;
  }
}

void Client::finish_dropped_messages() {
  for (size_t i = 0; i < inflight_span_;) {
    InflightEntry& e = inflight_at(i);
    if (e.state != kEntryDoneDelivered && e.state != kEntryDoneLost) {
      ++i;
      continue;
    }
    const uint16_t id = e.packet_id;
    const Status result = e.state == kEntryDoneDelivered ? Status::kOk : Status::kClientSessionLost;
    remove_inflight(&e);
    handler_.on_delivered(id, result);
    i = 0;  // the head may have moved, and the handler may have published
  }
}

// ---- poll --------------------------------------------------------------------------------------

Status Client::poll(uint32_t max_wait_ms) {
  if (state_ == State::kIdle) return Status::kOk;
  if (state_ == State::kBackoff) {
    if (next_timeout_ms() > 0) {
      wait_for_transport(max_wait_ms);
      return Status::kOk;
    }
    set_state(State::kConnecting, Status::kOk);
  }
  if (state_ == State::kConnecting) open_transport();
  if (!link_open()) return Status::kOk;

  check_timers();
  if (!link_open()) return Status::kOk;
  send_pending_subscriptions();
  send_queued_messages();
  if (!flush()) return Status::kOk;
  // A caller refused with kClientBusy is waiting for transmit room: once the buffer has drained,
  // return to it rather than sleep on the socket (measured: a publisher otherwise idles for
  // max_wait_ms after every buffer-full of QoS 0 messages).
  if (caller_waits_for_tx_ && !tx_pending()) {
    caller_waits_for_tx_ = false;
    max_wait_ms = 0;
  }
  wait_for_transport(max_wait_ms);
  read_and_dispatch();
  if (!link_open()) return Status::kOk;
  send_pending_subscriptions();
  send_queued_messages();
  if (!flush()) return Status::kOk;
  check_timers();
  return Status::kOk;
}

void Client::wait_for_transport(uint32_t max_wait_ms) {
  const uint32_t due = next_timeout_ms();
  const uint32_t wait = due < max_wait_ms ? due : max_wait_ms;
  if (wait > 0) (void)transport_.wait(wait, tx_pending());
}

uint32_t Client::next_timeout_ms() {
  const uint32_t now = now_ms();
  switch (state_) {
    case State::kConnecting:
      return 0;
    case State::kBackoff:
      return time_left(state_since_ms_, now, backoff_ms_);
    case State::kAwaitingConnack:
      return time_left(state_since_ms_, now, options_.connect_timeout_ms);
    case State::kConnected: {
      const uint32_t keep_alive_ms = uint32_t{options_.connect.keep_alive_seconds} * 1000;
      if (keep_alive_ms == 0) break;
      if (ping_outstanding_) {
        const uint32_t timeout =
            options_.pingresp_timeout_ms ? options_.pingresp_timeout_ms : keep_alive_ms / 2;
        return time_left(ping_sent_ms_, now, timeout);
      }
      const uint32_t send_in = time_left(last_sent_ms_, now, keep_alive_ms);
      const uint32_t receive_in = time_left(last_received_ms_, now, keep_alive_ms);
      return send_in < receive_in ? send_in : receive_in;
    }
    default:
      break;
  }
  return kNoTimeoutMs;
}

// Keep-alive: a PINGREQ once nothing was sent or nothing was received for a keep-alive period
// [MQTT-3.1.2-23]; no PINGRESP within the timeout means the link is dead. A frozen broker is
// so detected within 1.5 x keep-alive of its last byte (with the default timeout).
void Client::check_timers() {
  if (!link_open() || next_timeout_ms() > 0) return;
  if (state_ == State::kAwaitingConnack || ping_outstanding_) {
    // The answer may be waiting unread (the caller polled late): read before giving up on it.
    read_and_dispatch();
    if (!link_open() || next_timeout_ms() > 0) return;
  }
  if (state_ == State::kAwaitingConnack) {
    link_lost(Status::kClientConnectTimeout);
  } else if (ping_outstanding_) {
    link_lost(Status::kClientKeepAliveTimeout);
  } else if (queue_control(PacketType::kPingreq, 0) == Status::kOk) {
    ping_outstanding_ = true;
    ping_sent_ms_ = now_ms();
    flush();
  }
}

// ---- Receiving ---------------------------------------------------------------------------------

void Client::read_and_dispatch() {
  const uint32_t generation = generation_;
  if (!dispatch_buffered(generation)) return;
  for (int reads = 0; reads < 64; ++reads) {
    const MutableByteView space = decoder_.free_space();
    if (space.size == 0) return;  // a full buffer of undispatched packets: backpressure
    const int32_t n = transport_.recv(space.data, space.size);
    if (n == 0) return;
    if (n < 0) {
      link_lost(Status::kTransportClosed);
      return;
    }
    decoder_.commit(static_cast<size_t>(n));
    last_received_ms_ = now_ms();
    if (!dispatch_buffered(generation)) return;
    // A short read drained the transport: asking again would only return "nothing" (a wasted
    // system call per poll, measured in bench_mqtt). What arrives later wakes the next wait().
    if (static_cast<size_t>(n) < space.size) return;
  }
}

// Dispatches every complete buffered packet. Returns false when dispatch must stop: the state
// changed, or the transmit buffer cannot take an acknowledgement (the packet stays buffered).
bool Client::dispatch_buffered(uint32_t generation) {
  for (;;) {
    if (!make_tx_room(16)) return false;
    if (generation != generation_) return false;
    if (decoder_.streaming()) {
      codec::StreamDecoder::PayloadPart part;
      if (decoder_.next_part(&part) != Status::kOk) return true;  // kCodecNeedMore
      deliver(part.publish, part.offset, part.total);
      continue;
    }
    codec::Packet packet;
    const Status s = decoder_.next(&packet);
    if (s == Status::kCodecNeedMore) return true;
    if (s == Status::kCodecPacketTooLarge && take_oversized_message(packet)) {
      if (generation != generation_) return false;
      continue;
    }
    if (s != Status::kOk) {
      link_lost(s == Status::kCodecPacketTooLarge ? Status::kClientMessageTooLarge
                                                  : Status::kClientProtocolViolation);
      return false;
    }
    handle_packet(packet);
    if (generation != generation_) return false;
  }
}

void Client::handle_packet(const codec::Packet& packet) {
  // Nothing but CONNACK may come first [MQTT-3.2.0-1].
  if ((state_ == State::kAwaitingConnack) != (packet.type == PacketType::kConnack)) {
    link_lost(Status::kClientProtocolViolation);
    return;
  }
  switch (packet.type) {
    case PacketType::kConnack:
      on_connack(packet.connack);
      return;
    case PacketType::kPublish:
      handle_publish(packet);
      return;
    case PacketType::kPuback:
    case PacketType::kPubcomp: {
      InflightEntry* e =
          find_inflight(packet.packet_id, packet.type == PacketType::kPuback ? kEntryAwaitPuback
                                                                             : kEntryAwaitPubcomp);
      if (e == nullptr) return;  // a late duplicate: already complete
      remove_inflight(e);
      handler_.on_delivered(packet.packet_id, Status::kOk);
      return;
    }
    case PacketType::kPubrec: {
      InflightEntry* e = find_inflight(packet.packet_id, kEntryAwaitPubrec);
      if (e == nullptr) e = find_inflight(packet.packet_id, kEntryAwaitPubcomp);
      if (e == nullptr) return;
      const bool sent = queue_control(PacketType::kPubrel, packet.packet_id) == Status::kOk;
      if (!sent && e->state != kEntryQueuedPubrel) ++queued_count_;
      e->state = sent ? kEntryAwaitPubcomp : kEntryQueuedPubrel;
      return;
    }
    case PacketType::kPubrel: {
      // Release the QoS 2 id, then always answer PUBCOMP [MQTT-4.3.3-2].
      for (size_t i = 0; i < inbound_qos2_count_; ++i) {
        if (inbound_qos2_ids_[i] == packet.packet_id) {
          inbound_qos2_ids_[i] = inbound_qos2_ids_[--inbound_qos2_count_];
          break;
        }
      }
      (void)queue_control(PacketType::kPubcomp, packet.packet_id);
      return;
    }
    case PacketType::kSuback:
    case PacketType::kUnsuback: {
      const bool suback = packet.type == PacketType::kSuback;
      const uint32_t generation = generation_;
      size_t code_index = 0;
      // Handlers may subscribe from here: that only appends, and records move only when the
      // table is compacted, after this loop.
      uint8_t* const table = subscription_table_;
      const uint8_t* const end = table + subscriptions_used_;
      for (uint8_t* r = table; r < end && generation == generation_; r += record_size(r)) {
        uint8_t& state = r[0];
        const uint8_t then = state & kThenMask;
        if (record_packet_id(r) != packet.packet_id ||
            base_of(state) != (suback ? kSubAwaitSuback : kUnsubAwait)) {
          continue;
        }
        const std::string_view filter = record_filter(r);
        if (!suback) {
          state = then >> 4;  // kSubFree, or kSubPending when subscribed again meanwhile
          handler_.on_unsubscribed(filter);
          continue;
        }
        // SUBACK codes follow the order of the filters in the SUBSCRIBE [MQTT-3.9.3-1], which
        // was table order.
        const uint8_t code =
            code_index < packet.list.size ? packet.list.data[code_index] : codec::kSubackFailure;
        ++code_index;
        const bool refused = code == codec::kSubackFailure;
        state = then != 0 ? then >> 4 : kSubActive;
        // Refused: not resubscribed after a reconnect, and nothing to unsubscribe from.
        if (refused && state != kSubPending) state = kSubFree;
        if (refused) {
          handler_.on_subscribed(filter, Status::kClientSubscribeRefused, QoS::kAtMostOnce);
        } else {
          handler_.on_subscribed(filter, Status::kOk, static_cast<QoS>(code));
        }
      }
      compact_subscriptions();
      return;
    }
    case PacketType::kPingresp:
      ping_outstanding_ = false;
      return;
    default:
      link_lost(Status::kClientProtocolViolation);
      return;
  }
}

bool Client::already_delivered(const codec::Publish& p) const {
  if (p.qos != QoS::kExactlyOnce) return false;
  for (size_t i = 0; i < inbound_qos2_count_; ++i) {
    if (inbound_qos2_ids_[i] == p.packet_id) return true;
  }
  return false;
}

// The acknowledgement is queued before the handler runs: room for it was reserved, and the
// handler's own publishes must not crowd it out. QoS 2 uses the standard's method B: store the
// id, deliver once, PUBREC; a duplicate PUBLISH only gets PUBREC again [MQTT-4.3.3-2]. Returns
// false for such a duplicate (not to be delivered again).
bool Client::acknowledge(const codec::Publish& p) {
  if (p.qos == QoS::kAtLeastOnce) {
    (void)queue_control(PacketType::kPuback, p.packet_id);
    return true;
  }
  if (p.qos != QoS::kExactlyOnce) return true;
  const bool duplicate = already_delivered(p);
  // A full table means this id cannot be remembered: it is still delivered and acknowledged,
  // and only a redelivery of this very message after a reconnect could show it twice.
  if (!duplicate && inbound_qos2_count_ < inbound_qos2_capacity_) {
    inbound_qos2_ids_[inbound_qos2_count_++] = p.packet_id;
  }
  (void)queue_control(PacketType::kPubrec, p.packet_id);
  return !duplicate;
}

void Client::handle_publish(const codec::Packet& packet) {
  parts_wanted_ = true;
  deliver(packet.publish, 0, packet.publish.payload.size);
}

// A PUBLISH longer than Storage::rx is not fatal: dropping the link would not help (a resumed
// session would send it again, forever). Once its topic and id are read, its payload passes
// through rx in parts (deliver), delivered or skipped. Without its id (the topic did not
// fit) a QoS 1/2 message cannot be acknowledged: false, fatal; QoS 0 is skipped unseen.
bool Client::take_oversized_message(const codec::Packet& packet) {
  const codec::Publish& p = packet.publish;
  if (state_ != State::kConnected || packet.type != PacketType::kPublish) return false;
  if (decoder_.stream_frame() == Status::kOk) {
    parts_wanted_ = options_.large_messages_in_parts && !already_delivered(p);
    return true;
  }
  if (p.qos != QoS::kAtMostOnce && p.topic.empty()) return false;
  if (acknowledge(p)) handler_.on_message_dropped(p.topic, Status::kClientMessageTooLarge);
  (void)decoder_.skip_frame();  // refused if the handler disconnected (the decoder was reset)
  return true;
}

// A whole message, or one part of a message longer than rx (payload `offset` of `total`). The
// acknowledgement waits for the last part: a link lost before it leaves the message to be sent
// again (QoS 1/2), not acknowledged and half delivered.
void Client::deliver(const codec::Publish& p, size_t offset, size_t total) {
  const bool last = offset + p.payload.size == total;
  if (last && !acknowledge(p)) return;  // a QoS 2 duplicate: PUBREC only
  if (parts_wanted_) {
    handler_.on_message(Message{p.topic, p.payload, p.qos, p.retain, p.dup, offset, total});
  } else if (last) {
    handler_.on_message_dropped(p.topic, Status::kClientMessageTooLarge);
  }
}

// ---- Sending -----------------------------------------------------------------------------------

// Hands buffer[start, end) to the transport as far as it takes it now; false when the link was
// lost (and `start`, a member, reset with it).
bool Client::drain(const uint8_t* buffer, uint32_t& start, uint32_t end) {
  while (end > start) {
    const int32_t n = transport_.send(buffer + start, end - start);
    if (n == 0) return true;
    if (n < 0) {
      link_lost(Status::kTransportClosed);
      return false;
    }
    start += static_cast<uint32_t>(n);
    last_sent_ms_ = now_ms();
  }
  return true;
}

bool Client::flush() {
  // A stored frame leaving from the outbox goes first: whatever tx holds was queued after it.
  if (!drain(outbox_buffer_, direct_start_, direct_end_)) return false;
  if (direct_end_ > direct_start_) return true;
  if (!drain(tx_buffer_, tx_start_, tx_end_)) return false;
  if (tx_end_ == tx_start_) tx_start_ = tx_end_ = 0;
  return true;
}

bool Client::make_tx_room(size_t bytes) {
  if (tx_capacity_ - tx_end_ >= bytes) return true;
  if (link_open() && !flush()) return false;
  if (tx_start_ > 0) {
    std::memmove(tx_buffer_, tx_buffer_ + tx_start_, tx_end_ - tx_start_);
    tx_end_ -= tx_start_;
    tx_start_ = 0;
  }
  return tx_capacity_ - tx_end_ >= bytes;
}

Status Client::queue(Encoder encode, const void* packet) {
  if (!link_open()) return Status::kClientNotConnected;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Result<size_t> written =
        encode(packet, MutableByteView(tx_buffer_ + tx_end_, tx_capacity_ - tx_end_));
    if (written) {
      tx_end_ += written.value();
      return Status::kOk;
    }
    if (written.status() != Status::kBufferTooSmall) return written.status();
    if (attempt == 0 && !make_tx_room(tx_capacity_)) {
      if (!link_open()) return Status::kClientNotConnected;
    }
  }
  if (tx_end_ == tx_start_) return Status::kClientMessageTooLarge;
  caller_waits_for_tx_ = true;
  return Status::kClientBusy;
}

Status Client::queue_control(PacketType type, uint16_t packet_id) {
  const ControlPacket packet{type, packet_id};
  return queue(encode_control, &packet);
}

Result<uint16_t> Client::publish(std::string_view topic, ByteView payload, QoS qos, bool retain) {
  if (!configured_) return Status::kInvalidArgument;
  const Status rules = check_publish_rules(topic, payload.size, qos, retain);
  if (rules != Status::kOk) return rules;
  codec::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.retain = retain;
  if (qos != QoS::kAtMostOnce) p.packet_id = next_packet_id();
  const Result<size_t> size = codec::encoded_size(p);
  if (!size) return size.status();
  if (qos == QoS::kAtMostOnce) {
    if (state_ != State::kConnected) return Status::kClientNotConnected;
    // Built in tx when it fits and nothing stored waits to be sent; otherwise it waits in the
    // outbox behind what does, so messages leave in the order they were published.
    if (size.value() <= tx_capacity_ && queued_count_ == 0) {
      const Status queued = queue(encode_packet<codec::Publish>, &p);
      if (queued != Status::kOk) return queued;
      if (!flush()) return Status::kClientNotConnected;
      return uint16_t{0};
    }
    // Through the outbox: sent from there once, then forgotten.
  }
  if (size.value() > outbox_capacity_) return Status::kClientMessageTooLarge;
  const Status stored = store_message(p, static_cast<uint32_t>(size.value()));
  if (stored != Status::kOk) return stored;
  if (state_ == State::kConnected) {
    send_queued_messages();
    flush();
  }
  return p.packet_id;
}

// `size` (from codec::encoded_size) is at most outbox_capacity_.
Status Client::store_message(const codec::Publish& publish, uint32_t size) {
  if (inflight_span_ == inflight_capacity_) return Status::kClientInflightFull;
  if (outbox_capacity_ - outbox_end_ < size && outbox_start_ > 0 && direct_end_ == direct_start_) {
    // Slide the stored frames to the front; in-order acknowledgements keep this rare and small.
    // Not while a frame leaves from the outbox: its bytes must stay where they are.
    std::memmove(outbox_buffer_, outbox_buffer_ + outbox_start_, outbox_end_ - outbox_start_);
    for (size_t i = 0; i < inflight_span_; ++i) {
      InflightEntry& e = inflight_at(i);
      if (e.state != kEntryFree) e.offset -= static_cast<uint32_t>(outbox_start_);
    }
    outbox_end_ -= outbox_start_;
    outbox_start_ = 0;
  }
  if (outbox_capacity_ - outbox_end_ < size) return Status::kClientInflightFull;
  (void)codec::encode(publish, MutableByteView(outbox_buffer_ + outbox_end_, size));
  InflightEntry& e = inflight_at(inflight_span_);
  e.offset = outbox_end_;
  e.length = size;
  e.packet_id = publish.packet_id;
  e.state = publish.qos == QoS::kAtMostOnce ? kEntryQueuedQos0 : kEntryQueuedPublish;
  outbox_end_ += size;
  ++inflight_span_;
  ++inflight_used_;
  ++queued_count_;
  return Status::kOk;
}

void Client::send_queued_messages() {
  for (size_t i = 0; state_ == State::kConnected && i < inflight_span_ && queued_count_ > 0; ++i) {
    InflightEntry& e = inflight_at(i);
    if (e.state == kEntryQueuedPubrel) {
      if (queue_control(PacketType::kPubrel, e.packet_id) != Status::kOk) break;
      e.state = kEntryAwaitPubcomp;
      --queued_count_;
    } else if (e.state == kEntryQueuedPublish || e.state == kEntryQueuedQos0) {
      if (!send_stored_frame(e)) break;
      const QoS qos = qos_of_frame(outbox_buffer_[e.offset]);
      e.state = qos == QoS::kAtMostOnce    ? kEntrySentQos0
                : qos == QoS::kAtLeastOnce ? kEntryAwaitPuback
                                           : kEntryAwaitPubrec;
      --queued_count_;
    }
  }
  forget_sent_qos0();
}

// Frees the slots of QoS 0 frames already handed over, once no frame is leaving from the outbox
// (its bytes may still be in use). Called only after a pass over the queue: freeing moves the
// head of the ring, which a loop over it must not see.
void Client::forget_sent_qos0() {
  if (direct_end_ > direct_start_) return;
  for (size_t i = 0; i < inflight_span_;) {
    InflightEntry& e = inflight_at(i);
    if (e.state == kEntrySentQos0) {
      remove_inflight(&e);
      i = 0;
    } else {
      ++i;
    }
  }
}

// A stored frame that tx can hold is copied there, to leave in one send with its neighbours. A
// larger one leaves from the outbox itself once everything queued before it has gone, so tx
// need not be sized for the largest message. False: not now (tried again by the next poll).
bool Client::send_stored_frame(const InflightEntry& e) {
  if (e.length <= tx_capacity_) {
    if (!make_tx_room(e.length)) return false;
    std::memcpy(tx_buffer_ + tx_end_, outbox_buffer_ + e.offset, e.length);
    tx_end_ += e.length;
    return true;
  }
  if (!flush() || tx_pending()) return false;
  direct_start_ = e.offset;
  direct_end_ = e.offset + e.length;
  return true;
}

InflightEntry* Client::find_inflight(uint16_t packet_id, uint8_t state) {
  for (size_t i = 0; i < inflight_span_; ++i) {
    InflightEntry& e = inflight_at(i);
    if (e.packet_id == packet_id && e.state == state) return &e;
  }
  return nullptr;
}

void Client::remove_inflight(InflightEntry* entry) {
  if (entry->state == kEntryQueuedPublish || entry->state == kEntryQueuedPubrel ||
      entry->state == kEntryQueuedQos0) {
    --queued_count_;
  }
  entry->state = kEntryFree;
  --inflight_used_;
  while (inflight_span_ > 0 && inflight_table_[inflight_head_].state == kEntryFree) {
    inflight_head_ = (inflight_head_ + 1) % inflight_capacity_;
    --inflight_span_;
  }
  if (inflight_span_ == 0) {
    inflight_head_ = 0;
    // Empty: start again at the front, unless a frame is still leaving from the outbox (a broker
    // acknowledged it before it was whole): new frames go after it, never over it.
    if (direct_end_ == direct_start_) outbox_end_ = 0;
    outbox_start_ = outbox_end_;
  } else {
    outbox_start_ = inflight_table_[inflight_head_].offset;
  }
}

bool Client::packet_id_in_use(uint16_t id) const {
  for (size_t i = 0; i < inflight_span_; ++i) {
    const InflightEntry& e = inflight_at(i);
    if (e.state != kEntryFree && e.packet_id == id) return true;
  }
  const uint8_t* const table = subscription_table_;
  for (const uint8_t* r = table; r < table + subscriptions_used_; r += record_size(r)) {
    if (awaits_answer(r[0]) && record_packet_id(r) == id) return true;
  }
  return false;
}

uint16_t Client::next_packet_id() {
  do {
    last_packet_id_ = static_cast<uint16_t>(last_packet_id_ + 1);
  } while (last_packet_id_ == 0 || packet_id_in_use(last_packet_id_));
  return last_packet_id_;
}

// ---- Subscriptions -----------------------------------------------------------------------------

uint8_t* Client::find_subscription(std::string_view filter) {
  uint8_t* const table = subscription_table_;
  for (uint8_t* r = table; r < table + subscriptions_used_; r += record_size(r)) {
    if (r[0] != kSubFree && record_filter(r) == filter) return r;
  }
  return nullptr;
}

uint8_t* Client::find_record(uint8_t state) {
  uint8_t* const table = subscription_table_;
  for (uint8_t* r = table; r < table + subscriptions_used_; r += record_size(r)) {
    if (r[0] == state) return r;
  }
  return nullptr;
}

// A new record at the end of the table, kSubFree (the caller checked the room; check_topic_filter
// bounds the filter to 65,535 bytes).
uint8_t* Client::add_record(std::string_view filter) {
  uint8_t* r = subscription_table_ + subscriptions_used_;
  r[0] = kSubFree;
  write16(r + 4, static_cast<uint16_t>(filter.size()));
  std::memcpy(r + kRecordHeader, filter.data(), filter.size());
  subscriptions_used_ += record_size(r);
  return r;
}

// Drops freed records, keeping the order of the others.
void Client::compact_subscriptions() {
  uint8_t* const table = subscription_table_;
  size_t kept = 0;
  for (size_t at = 0; at < subscriptions_used_;) {
    const size_t size = record_size(table + at);
    if (table[at] != kSubFree) {
      if (kept != at) std::memmove(table + kept, table + at, size);
      kept += size;
    }
    at += size;
  }
  subscriptions_used_ = kept;
}

Status Client::subscribe(const codec::Subscription* subscriptions, size_t count) {
  if (!configured_) return Status::kInvalidArgument;
  if (count == 0) return Status::kCodecEmptySubscription;
  const bool onenet = options_.profile == Profile::kOneNet;
  if (onenet && count > kOneNetMaxFiltersPerPacket) return Status::kClientRuleSubscriptionCount;
  size_t active = 0;
  const uint8_t* const table = subscription_table_;
  for (const uint8_t* r = table; r < table + subscriptions_used_; r += record_size(r)) {
    // One whose UNSUBSCRIBE waits for its SUBACK counts: new filters may reach the broker first.
    if (wants_subscription(r[0]) || base_of(r[0]) == kSubAwaitSuback) ++active;
  }
  size_t added = 0;
  size_t added_bytes = 0;
  for (size_t n = 0; n < count; ++n) {
    const Status rules = check_filter_rules(subscriptions[n].filter, subscriptions[n].qos);
    if (rules != Status::kOk) return rules;
    if (!fits_one_packet(subscriptions[n].filter, tx_capacity_))
      return Status::kClientMessageTooLarge;
    if (find_subscription(subscriptions[n].filter) == nullptr) {
      ++added;
      added_bytes += kRecordHeader + subscriptions[n].filter.size();
    }
  }
  if (onenet && active + added > kOneNetMaxSubscriptions)
    return Status::kClientRuleSubscriptionCount;
  if (added_bytes > subscription_capacity_ - subscriptions_used_) {
    return Status::kClientTooManySubscriptions;
  }

  for (size_t n = 0; n < count; ++n) {
    const std::string_view filter = subscriptions[n].filter;
    uint8_t* r = find_subscription(filter);
    if (r == nullptr) r = add_record(filter);
    r[1] = static_cast<uint8_t>(subscriptions[n].qos);
    r[0] = awaits_answer(r[0]) ? static_cast<uint8_t>(base_of(r[0]) | kThenSubscribe)
                               : uint8_t{kSubPending};
  }
  send_pending_subscriptions();
  if (state_ == State::kConnected) flush();
  return Status::kOk;
}

Status Client::unsubscribe(const std::string_view* filters, size_t count) {
  if (!configured_) return Status::kInvalidArgument;
  if (count == 0) return Status::kCodecEmptySubscription;
  size_t added_bytes = 0;
  for (size_t n = 0; n < count; ++n) {
    const Status valid = codec::check_topic_filter(filters[n]);
    if (valid != Status::kOk) return valid;
    if (!fits_one_packet(filters[n], tx_capacity_)) return Status::kClientMessageTooLarge;
    if (find_subscription(filters[n]) == nullptr) added_bytes += kRecordHeader + filters[n].size();
  }
  // A filter this client has no record of may still be the broker's: a persistent session keeps
  // what an earlier process subscribed. It gets a record, to carry its UNSUBSCRIBE.
  if (added_bytes > subscription_capacity_ - subscriptions_used_) {
    return Status::kClientTooManySubscriptions;
  }
  for (size_t n = 0; n < count; ++n) {
    uint8_t* r = find_subscription(filters[n]);
    if (r == nullptr) r = add_record(filters[n]);
    const uint8_t base = base_of(r[0]);
    if (base == kSubAwaitSuback) {
      r[0] = kSubAwaitSuback | kThenUnsubscribe;
    } else if (base == kUnsubAwait) {
      r[0] = kUnsubAwait;  // already leaving: a subscribe asked meanwhile is off
    } else {
      r[0] = kUnsubPending;
    }
  }
  send_pending_subscriptions();
  if (state_ == State::kConnected) flush();
  return Status::kOk;
}

void Client::send_pending_subscriptions() {
  if (state_ != State::kConnected) return;
  queue_subscription_packets(false);
  queue_subscription_packets(true);
}

// Groups pending entries into SUBSCRIBE (or UNSUBSCRIBE) packets of up to the per-packet limit.
void Client::queue_subscription_packets(bool unsubscribe) {
  const uint8_t pending = unsubscribe ? kUnsubPending : kSubPending;
  SubscriptionBatch batch{
      subscription_table_,
      subscriptions_used_,
      static_cast<uint32_t>(tx_capacity_ - kBatchOverhead),
      pending,
      options_.profile == Profile::kOneNet ? kOneNetMaxFiltersPerPacket : kMaxFiltersPerPacket,
      0};
  while (find_record(pending) != nullptr) {
    batch.packet_id = next_packet_id();
    // queue() reaches a handler (which may change the table) only when the link fails, and
    // then it fails too: `batch.used` holds while packets are queued. The records encode_batch
    // writes are marked as it writes them.
    if (queue(encode_batch, &batch) != Status::kOk) return;  // retried at the next poll
  }
}

// ---- Disconnect --------------------------------------------------------------------------------

Status Client::disconnect(uint32_t flush_timeout_ms) {
  if (state_ == State::kIdle) return Status::kOk;
  if (link_open() && queue_control(PacketType::kDisconnect, 0) == Status::kOk) {
    const uint32_t start = now_ms();
    while (link_open() && flush() && tx_pending()) {
      const uint32_t left = time_left(start, now_ms(), flush_timeout_ms);
      if (left == 0) break;
      (void)transport_.wait(left, true);
    }
  }
  transport_.close();
  reset_link();
  set_state(State::kIdle, Status::kOk);
  return Status::kOk;
}

}  // namespace onenet::client
