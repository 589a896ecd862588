// Runs a client::Client on an owner thread so that any thread may publish.
//
// The owner thread calls Client::poll() and waits on the transport's socket and on a wake-up
// eventfd. Other threads hand it work through a locked queue; each call returns a future that
// completes once the client has accepted (or refused) the work. Handler callbacks run on the
// owner thread. The runner owns nothing but its thread and queue; the client and transport
// must outlive it.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "onenet/client/client.hpp"
#include "onenet/platform/transport.hpp"

namespace onenet::platform {

class Runner {
 public:
  /// `after_poll` (optional) runs on the owner thread after every Client::poll, and
  /// `next_timeout` (optional) bounds its waits: a layer above the client (model::Device) hooks
  /// its own timers in this way.
  Runner(client::Client& client, NativeTransport& transport, std::function<void()> after_poll = {},
         std::function<uint32_t()> next_timeout = {});
  ~Runner();  ///< stop()
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Starts the client and the owner thread. kClientBusy when already running.
  Status start();
  /// Starts only the owner thread, for a client someone else started.
  Status run_in_background();

  /// Disconnects cleanly (DISCONNECT, up to 1 s to send it) and joins the owner thread; a
  /// connection attempt under way is cancelled (see NativeTransport::set_cancel_fd). Work
  /// still queued then is cancelled (see post): its futures hold kClientNotConnected. Safe to
  /// call twice. From the owner thread (a handler callback, or posted work) it does not wait:
  /// the owner thread disconnects and ends once the callback returns, and the destructor (or a
  /// stop() from another thread) joins it.
  void stop();

  /// Publishes from any thread; topic and payload are copied. The future holds what
  /// Client::publish returned, or kClientNotConnected when the runner is not running (or
  /// stops first). While the transmit buffer or the in-flight table is full the work waits in
  /// the queue (backpressure) instead of failing.
  std::future<Result<uint16_t>> publish(std::string topic, std::string payload, codec::QoS qos,
                                        bool retain = false);

  /// Subscribes from any thread; the future holds Client::subscribe's status (results follow
  /// through Handler::on_subscribed), or kClientNotConnected as for publish().
  std::future<Status> subscribe(std::vector<std::pair<std::string, codec::QoS>> filters);

  /// Runs `work` on the owner thread with the client. `work` returns false to be retried after
  /// the next poll (e.g. the client was busy). When the runner is not running, or stops before
  /// `work` has returned true, `cancel` (optional) runs instead, with kClientNotConnected: on
  /// the calling thread, or on the owner thread as it stops. So a future fed by `work` or
  /// `cancel` always completes.
  void post(std::function<bool(client::Client&)> work,
            std::function<void(Status)> cancel = nullptr);

 private:
  struct Work {
    std::function<bool(client::Client&)> run;
    std::function<void(Status)> cancel;
  };
  void run();
  void wake();
  static void cancel_all(std::deque<Work>& work);

  client::Client& client_;
  NativeTransport& transport_;
  std::function<void()> after_poll_;
  std::function<uint32_t()> next_timeout_;
  int wake_fd_ = -1;
  // Readable from stop() until the next start: it cancels a transport open() under way
  // (NativeTransport::set_cancel_fd), which may otherwise block for its whole timeout.
  int stop_fd_ = -1;
  std::mutex mutex_;
  std::deque<Work> queue_;
  // The owner thread takes work; false before start and from stop() on (post() then cancels,
  // and the owner thread leaves its loop).
  bool running_ = false;
  std::thread::id owner_id_;  // the owner thread's, while run() runs (under mutex_)
  std::thread thread_;
};

}  // namespace onenet::platform
