// The MQTT 3.1.1 session engine.
//
// One Client is one MQTT session over one port::Transport. It is synchronous and single-owner:
// one thread calls poll() (and every other member); callbacks run inside poll() and may call
// publish/subscribe/unsubscribe/disconnect. The client never allocates: all memory is the
// caller's Storage, which must outlive the client. Nothing here blocks except poll(), for at
// most the wait it is given (plus the transport's connect timeout while connecting).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "onenet/codec/packets.hpp"
#include "onenet/codec/stream_decoder.hpp"
#include "onenet/port.hpp"
#include "onenet/status.hpp"

namespace onenet::client {

/// Which broker rules the client enforces locally, before a byte is sent.
enum class Profile : uint8_t {
  /// Any MQTT 3.1.1 broker: QoS 0/1/2, will, retain, persistent sessions.
  kGeneric,
  /// OneNET (onenet-protocol.md section 2): clean session, QoS <= 1, no will or retain,
  /// keep-alive 10..1800 s, only this device's `$sys/{product}/{device}/` topics (user name =
  /// product id, client id = device name), wildcards from the fifth level on, at most 10
  /// subscriptions (8 filters per packet), payloads up to 256 KB, reconnects >= 2 s apart.
  kOneNet,
};

/// Connection states. The comment of each lists the states that can follow it.
enum class State : uint8_t {
  kIdle,  ///< not started, or after disconnect(). Next: kConnecting.
  /// Opening the transport at the next poll. Next: kAwaitingConnack, kBackoff, or kIdle when a
  /// setting cannot work (kTlsCaLoadFailed, kInvalidArgument from the transport, or a CONNECT
  /// before_connect made invalid): retrying would fail the same way.
  kConnecting,
  kAwaitingConnack,  ///< CONNECT sent. Next: kConnected, kBackoff, kIdle.
  kConnected,        ///< session up. Next: kBackoff (link lost), kIdle (disconnect()).
  kBackoff,          ///< waiting before the next attempt. Next: kConnecting, kIdle.
};

const char* to_string(State state);

/// What to do with unacknowledged QoS 1/2 messages when the broker did not resume the session.
enum class RequeuePolicy : uint8_t {
  /// Send them again as new messages (at-least-once survives a lost session). Messages already
  /// acknowledged with PUBREC count as delivered.
  kResend,
  /// Report each as failed (on_delivered with kClientSessionLost) and forget it.
  kDrop,
};

/// An incoming application message, or one part of it (Options::large_messages_in_parts).
/// Views into the client's receive buffer: valid only during the on_message call.
struct Message {
  std::string_view topic;
  ByteView payload;
  codec::QoS qos = codec::QoS::kAtMostOnce;
  bool retain = false;
  bool dup = false;
  size_t offset = 0;      ///< where `payload` starts in the whole payload (0 unless in parts)
  size_t total_size = 0;  ///< the whole payload's length (payload.size unless in parts)
  /// The whole message, or its last part.
  bool complete() const { return offset + payload.size == total_size; }
};

/// Receives the client's events. Every member runs inside Client::poll() on the owner thread,
/// and must not throw: sdk/ is built without exceptions, so one thrown through poll() skips the
/// client's own bookkeeping (or ends the process). Catch inside the callback.
class Handler {
 public:
  virtual ~Handler() = default;
  /// The state changed; `reason` says why (kOk, or what failed for kBackoff / kIdle).
  virtual void on_state(State /*state*/, Status /*reason*/) {}
  /// An application message arrived (QoS 2: once per message, duplicates filtered). With
  /// Options::large_messages_in_parts, a message longer than Storage::rx arrives as several
  /// calls, its parts in order (Message::offset, Message::complete()). Its QoS 1/2
  /// acknowledgement leaves after the last part: when the link is lost before it, the message is
  /// incomplete, and the broker sends a QoS 1/2 message again, from offset 0, after a reconnect.
  virtual void on_message(const Message& /*message*/) {}
  /// An incoming message was not delivered: `reason` is kClientMessageTooLarge (the PUBLISH is
  /// longer than Storage::rx, and Options::large_messages_in_parts is off or its topic and id
  /// fill rx). Its bytes were skipped and it was acknowledged, so the connection goes on and the
  /// broker does not send it again. `topic` views the receive buffer (valid only during the
  /// call); it is empty when the topic itself did not fit.
  virtual void on_message_dropped(std::string_view /*topic*/, Status /*reason*/) {}
  /// A QoS 1/2 publish completed: kOk when acknowledged, kClientSessionLost when dropped.
  virtual void on_delivered(uint16_t /*packet_id*/, Status /*result*/) {}
  /// SUBACK for one filter: kOk with the granted QoS, or kClientSubscribeRefused. `filter`
  /// views the subscription table: valid only during the call.
  virtual void on_subscribed(std::string_view /*filter*/, Status /*result*/,
                             codec::QoS /*granted*/) {}
  /// UNSUBACK for one filter.
  virtual void on_unsubscribed(std::string_view /*filter*/) {}
  /// Before every connection attempt: the last chance to change credentials (renew a token).
  /// Views set here must stay valid until the next call.
  virtual void before_connect(codec::Connect& /*connect*/) {}
};

/// One unacknowledged outgoing QoS 1/2 message (its frame lives in Storage::outbox).
struct InflightEntry {
  uint32_t offset = 0;
  uint32_t length = 0;
  uint16_t packet_id = 0;
  uint8_t state = 0;
};

/// Bytes of subscription table (Storage::subscriptions) one filter takes: the table keeps
/// every filter, packed, to subscribe again after a reconnect.
constexpr size_t subscription_bytes(size_t filter_length) {
  return 6 + filter_length;
}

/// The client's memory, owned by the caller; must outlive the client.
struct Storage {
  MutableByteView rx;  ///< incoming frames: bounds the largest packet the client accepts
  /// Outgoing bytes not yet taken by the transport: CONNECT, SUBSCRIBE and UNSUBSCRIBE (it
  /// bounds the CONNECT, and each filter to tx less 10 bytes), acknowledgements, and PUBLISH
  /// frames small enough to share a send. A PUBLISH larger than tx leaves from the outbox
  /// itself, so tx need not hold the largest message: about 128 B serves a device whose CONNECT
  /// and filters are short.
  MutableByteView tx;
  /// PUBLISH frames: QoS 1/2 until acknowledged; QoS 0 frames larger than tx until sent (each
  /// also takes an in-flight slot meanwhile). Bounds the largest message sent.
  MutableByteView outbox;
  InflightEntry* inflight = nullptr;
  size_t inflight_capacity = 0;
  uint16_t* inbound_qos2 = nullptr;  ///< QoS 2 ids received, PUBREL not yet (dedup)
  size_t inbound_qos2_capacity = 0;
  /// The subscription table: subscription_bytes(length) per filter (a OneNET device's
  /// `$sys/{product}/{device}/thing/#` of a 64-character name needs under 100 bytes).
  MutableByteView subscriptions;
};

/// Storage sized at compile time (an MCU's static buffers, or a member of a host object).
template <size_t RxBytes, size_t TxBytes, size_t OutboxBytes, size_t Inflight,
          size_t SubscriptionBytes, size_t InboundQos2 = 16>
struct StaticStorage {
  uint8_t rx[RxBytes];
  uint8_t tx[TxBytes];
  uint8_t outbox[OutboxBytes];
  InflightEntry inflight[Inflight];
  uint16_t inbound_qos2[InboundQos2];
  uint8_t subscriptions[SubscriptionBytes];

  Storage view() {
    return Storage{MutableByteView(rx, RxBytes),
                   MutableByteView(tx, TxBytes),
                   MutableByteView(outbox, OutboxBytes),
                   inflight,
                   Inflight,
                   inbound_qos2,
                   InboundQos2,
                   MutableByteView(subscriptions, SubscriptionBytes)};
  }
};

struct Options {
  /// CONNECT fields. The views are borrowed: they must stay valid while the client runs
  /// (Handler::before_connect may repoint them).
  codec::Connect connect;
  uint32_t connect_timeout_ms = 10000;  ///< transport open, then CONNACK
  uint32_t pingresp_timeout_ms = 0;     ///< 0: half the keep-alive
  uint32_t backoff_initial_ms = 1000;   ///< ceiling of the first delay
  uint32_t backoff_max_ms = 60000;      ///< ceiling of every delay
  Profile profile = Profile::kGeneric;
  bool auto_reconnect = true;
  RequeuePolicy requeue = RequeuePolicy::kResend;
  /// Deliver an incoming message longer than Storage::rx in parts (see Handler::on_message),
  /// so rx need only hold a topic and some payload; off: such a message is dropped
  /// (on_message_dropped).
  bool large_messages_in_parts = false;
};

class Client {
 public:
  /// All references are borrowed and must outlive the client.
  Client(port::Transport& transport, port::Clock& clock, port::RandomFunction random,
         const Storage& storage, Handler& handler);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Validates and keeps `options`. Only while kIdle. Returns kInvalidArgument (storage too
  /// small, timeouts of 0), a codec status for bad CONNECT fields, or a kClientRule* status
  /// when the profile forbids the settings.
  Status configure(const Options& options);

  /// Starts connecting (the next poll opens the transport). kClientBusy unless kIdle.
  Status start();

  /// Does all due work: connects, reconnects, sends, receives, dispatches callbacks, keeps the
  /// link alive. Waits at most `max_wait_ms` for the transport (0: never waits). Returns kOk;
  /// link failures are reported through on_state, and the client recovers by itself.
  Status poll(uint32_t max_wait_ms);

  /// Milliseconds until poll() has timed work (keep-alive, CONNACK timeout, reconnect); a
  /// caller waiting on its own (the Linux runner) sleeps at most this long.
  uint32_t next_timeout_ms();

  /// Publishes a message. QoS 0: only while connected (kClientNotConnected otherwise). QoS 1/2:
  /// stored in the outbox and sent as soon as the link allows, also across reconnects. Returns
  /// the packet id (0 for QoS 0), a codec status, a kClientRule* status (profile), kClientBusy
  /// (transmit buffer full now: poll and retry; that poll returns without waiting once the
  /// buffer has drained), kClientInflightFull (no outbox room or slot now: poll and retry), or
  /// kClientMessageTooLarge (the frame exceeds Storage::outbox). A QoS 0 message larger than
  /// Storage::tx goes through the outbox and is dropped, unsent, if the link goes first (at
  /// most once). `topic` and `payload` are copied before return.
  Result<uint16_t> publish(std::string_view topic, ByteView payload, codec::QoS qos,
                           bool retain = false);

  /// Subscribes (and remembers the filters, to resubscribe after a reconnect). The SUBSCRIBE
  /// leaves as soon as the link and tx allow (filters beyond one packet's limit, or beyond what
  /// tx holds at once, go in further packets). Results arrive through on_subscribed. Returns
  /// kOk, a codec status, kClientRule*, kClientMessageTooLarge (a filter longer than tx less 10
  /// bytes: its SUBSCRIBE could never be sent) or kClientTooManySubscriptions
  /// (Storage::subscriptions has no room for the new filters; room freed by UNSUBACK or a
  /// refused filter is reused). Nothing is changed unless it returns kOk.
  Status subscribe(const codec::Subscription* subscriptions, size_t count);

  /// Unsubscribes; on_unsubscribed follows for each filter. A filter whose SUBACK has not come
  /// yet is reported by on_subscribed first, and its UNSUBSCRIBE leaves after that SUBACK (as a
  /// filter subscribed again meanwhile leaves again after it), so every code reaches its filter.
  /// A filter this client never subscribed is sent too (a persistent session may hold it from
  /// an earlier process); it takes subscription-table room until its UNSUBACK. Returns kOk, a
  /// codec status, kClientMessageTooLarge or kClientTooManySubscriptions, as subscribe().
  Status unsubscribe(const std::string_view* filters, size_t count);

  /// Sends DISCONNECT (waiting up to `flush_timeout_ms` for it to leave), closes the
  /// transport and goes kIdle. Unacknowledged messages and subscriptions are kept for start().
  Status disconnect(uint32_t flush_timeout_ms = 1000);

  State state() const { return state_; }
  /// Outgoing QoS 1/2 messages not yet acknowledged, and QoS 0 messages larger than tx not
  /// yet sent (they wait in the outbox too).
  size_t inflight_count() const { return inflight_used_; }
  /// The status that caused the last transition to kBackoff or kIdle.
  Status last_error() const { return last_error_; }
  /// Bytes are queued that the transport has not taken yet (it refused them for now). A caller
  /// that waits on the socket itself, rather than in poll(), must then also wake when the socket
  /// becomes writable, or they wait for the next timer.
  bool has_unsent_bytes() const { return tx_pending(); }

 private:
  Status check_publish_rules(std::string_view topic, size_t payload_size, codec::QoS qos,
                             bool retain) const;
  Status check_filter_rules(std::string_view filter, codec::QoS qos) const;
  bool in_device_space(std::string_view topic) const;

  void set_state(State state, Status reason);
  void open_transport();
  void link_lost(Status reason);
  void schedule_reconnect(Status reason);
  void on_connack(const codec::Connack& connack);
  void handle_packet(const codec::Packet& packet);
  void handle_publish(const codec::Packet& packet);
  bool acknowledge(const codec::Publish& publish);
  bool already_delivered(const codec::Publish& publish) const;
  bool take_oversized_message(const codec::Packet& packet);
  void deliver(const codec::Publish& publish, size_t offset, size_t total);
  void read_and_dispatch();
  bool dispatch_buffered(uint32_t generation);
  bool link_open() const {
    return state_ == State::kAwaitingConnack || state_ == State::kConnected;
  }
  bool make_tx_room(size_t bytes);
  bool drain(const uint8_t* buffer, uint32_t& start, uint32_t end);
  void reset_link();
  bool send_stored_frame(const InflightEntry& entry);
  void forget_sent_qos0();
  bool tx_pending() const { return tx_end_ > tx_start_ || direct_end_ > direct_start_; }
  void wait_for_transport(uint32_t max_wait_ms);
  void finish_dropped_messages();
  void queue_subscription_packets(bool unsubscribe);
  uint32_t random32();
  void check_timers();
  uint32_t now_ms() { return static_cast<uint32_t>(clock_.now_ms()); }

  bool flush();
  using Encoder = Result<size_t> (*)(const void* packet, MutableByteView out);
  Status queue(Encoder encode, const void* packet);
  Status queue_control(codec::PacketType type, uint16_t packet_id);
  void send_queued_messages();
  void send_pending_subscriptions();
  uint8_t* find_subscription(std::string_view filter);
  uint8_t* find_record(uint8_t state);  // the first record in `state`
  uint8_t* add_record(std::string_view filter);
  void compact_subscriptions();

  uint16_t next_packet_id();
  bool packet_id_in_use(uint16_t id) const;
  InflightEntry* find_inflight(uint16_t packet_id, uint8_t state);
  /// The in-flight ring's entry `i` places after its head (oldest first).
  InflightEntry& inflight_at(size_t i) const {
    return inflight_table_[(inflight_head_ + i) % inflight_capacity_];
  }
  void remove_inflight(InflightEntry* entry);
  Status store_message(const codec::Publish& publish, uint32_t size);
  void requeue_after_connect(bool session_present);

  // Layout: the fields used most come first, where a Cortex-M's 16-bit load and store
  // instructions reach them (bytes within 32 B of the object, words within 128 B); a field
  // further out costs a 32-bit instruction at every use. Sizes and offsets are in 32 bits.
  State state_ = State::kIdle;
  bool configured_ = false;
  bool caller_waits_for_tx_ = false;  // a call was refused with kClientBusy (tx full)
  bool ping_outstanding_ = false;
  bool parts_wanted_ = false;  // the message received now goes to on_message (else dropped)
  bool storage_fits_;          // every Storage size fits 32 bits
  Status last_error_ = Status::kOk;
  uint16_t last_packet_id_ = 0;

  uint32_t tx_start_ = 0;
  uint32_t tx_end_ = 0;
  // The part of a stored frame still to be sent from the outbox itself (send_stored_frame);
  // it goes before anything in tx, which was queued after it.
  uint32_t direct_start_ = 0;
  uint32_t direct_end_ = 0;
  uint32_t outbox_start_ = 0;
  uint32_t outbox_end_ = 0;
  uint32_t inflight_head_ = 0;  // oldest entry
  uint32_t inflight_span_ = 0;  // entries from the head, tombstones included
  uint32_t inflight_used_ = 0;  // live entries
  uint32_t queued_count_ = 0;   // live entries waiting to be sent
  uint32_t inbound_qos2_count_ = 0;
  uint32_t subscriptions_used_ = 0;  // bytes of Storage::subscriptions holding records
  uint32_t generation_ = 0;          // bumped when a connection begins or ends: dispatch stops then
  // The caller's Storage.
  uint32_t tx_capacity_;
  uint32_t outbox_capacity_;
  uint32_t subscription_capacity_;
  uint32_t inflight_capacity_;
  uint32_t inbound_qos2_capacity_;
  // Milliseconds, 32 bits (client.cpp: time_left).
  uint32_t last_sent_ms_ = 0;
  uint32_t last_received_ms_ = 0;
  uint32_t ping_sent_ms_ = 0;

  port::Transport& transport_;
  Handler& handler_;
  uint8_t* tx_buffer_;
  uint8_t* outbox_buffer_;
  InflightEntry* inflight_table_;
  uint8_t* subscription_table_;
  uint16_t* inbound_qos2_ids_;
  port::Clock& clock_;
  port::RandomFunction random_;

  uint32_t state_since_ms_ = 0;
  uint32_t connected_since_ms_ = 0;
  uint32_t backoff_ms_ = 0;  // the delay drawn for the current kBackoff
  uint32_t attempts_ = 0;

  codec::StreamDecoder decoder_;  // owns Storage::rx
  Options options_;
};

}  // namespace onenet::client
