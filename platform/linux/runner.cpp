#include "onenet/platform/runner.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace onenet::platform {

Runner::Runner(client::Client& client, NativeTransport& transport, std::function<void()> after_poll,
               std::function<uint32_t()> next_timeout)
    : client_(client),
      transport_(transport),
      after_poll_(std::move(after_poll)),
      next_timeout_(std::move(next_timeout)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      stop_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Runner::~Runner() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

Status Runner::start() {
  if (thread_.joinable()) return Status::kClientBusy;
  const Status started = client_.start();
  if (started != Status::kOk) return started;
  return run_in_background();
}

Status Runner::run_in_background() {
  if (thread_.joinable()) return Status::kClientBusy;
  if (wake_fd_ < 0 || stop_fd_ < 0) return Status::kInternalError;
  uint64_t drained;
  (void)!::read(stop_fd_, &drained, sizeof drained);  // a stop() before this start is over
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = true;
  }
  // Set here, before the owner thread starts, and cleared by it as it ends: the transport is
  // the owner thread's meanwhile.
  transport_.set_cancel_fd(stop_fd_);
  thread_ = std::thread([this] { run(); });
  return Status::kOk;
}

void Runner::stop() {
  bool on_owner_thread = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;  // from now on post() cancels at once; run() cancels what is queued
    on_owner_thread = std::this_thread::get_id() == owner_id_;
  }
  wake();
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);  // cancels a connect the owner thread waits in
  // On the owner thread (a handler callback, or posted work) a join would wait for itself
  // (std::system_error, which ends the process), and thread_ is not to be read there (the
  // starting thread may still be assigning it): the loop ends after this round instead, and a
  // stop() from another thread, or the destructor, joins it.
  if (on_owner_thread) return;
  if (thread_.joinable()) thread_.join();
}

void Runner::cancel_all(std::deque<Work>& work) {
  for (Work& w : work) {
    if (w.cancel) w.cancel(Status::kClientNotConnected);
  }
  work.clear();
}

void Runner::wake() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Runner::post(std::function<bool(client::Client&)> work, std::function<void(Status)> cancel) {
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) {
      queue_.push_back(Work{std::move(work), std::move(cancel)});
      queued = true;
    }
  }
  if (queued) {
    wake();
  } else if (cancel) {
    cancel(Status::kClientNotConnected);  // nobody would ever run it
  }
}

std::future<Result<uint16_t>> Runner::publish(std::string topic, std::string payload,
                                              codec::QoS qos, bool retain) {
  auto promise = std::make_shared<std::promise<Result<uint16_t>>>();
  std::future<Result<uint16_t>> future = promise->get_future();
  post(
      [promise, topic = std::move(topic), payload = std::move(payload), qos,
       retain](client::Client& client) {
        const Result<uint16_t> result =
            client.publish(topic, std::string_view(payload), qos, retain);
        if (result.status() == Status::kClientBusy ||
            result.status() == Status::kClientInflightFull) {
          return false;  // wait in the queue until acknowledgements or the socket make room
        }
        promise->set_value(result);
        return true;
      },
      [promise](Status status) { promise->set_value(status); });
  return future;
}

std::future<Status> Runner::subscribe(std::vector<std::pair<std::string, codec::QoS>> filters) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  post(
      [promise, filters = std::move(filters)](client::Client& client) {
        std::vector<codec::Subscription> subs;
        for (const auto& f : filters) subs.push_back(codec::Subscription{f.first, f.second});
        promise->set_value(client.subscribe(subs.data(), subs.size()));
        return true;
      },
      [promise](Status status) { promise->set_value(status); });
  return future;
}

void Runner::run() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    owner_id_ = std::this_thread::get_id();
  }
  std::deque<Work> work;
  for (;;) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping = !running_;
      while (!queue_.empty()) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (stopping) break;
    // Run queued work in order; a piece that must wait stops the line (order is kept).
    while (!work.empty() && work.front().run(client_)) work.pop_front();
    client_.poll(0);
    if (after_poll_) after_poll_();
    while (!work.empty() && work.front().run(client_)) work.pop_front();  // acks made room

    uint32_t timeout = next_timeout_ ? next_timeout_() : client_.next_timeout_ms();
    // The client stops reading after a burst; what a TLS layer already decrypted is not
    // announced by the socket, so the next round must not wait for it. Unless bytes wait to be
    // sent: then the client may be holding off reading (no room for acknowledgements), and
    // writability, waited for below, comes first; not waiting would spin.
    const bool unsent = client_.has_unsent_bytes();
    if (transport_.has_buffered_input() && !unsent) timeout = 0;
    const bool blocked = !work.empty();
    if (blocked && timeout > 50) timeout = 50;  // re-check queued work as acks arrive
    // Writable too while bytes wait for the socket: nothing else would wake us to send them.
    const short socket_events = unsent ? POLLIN | POLLOUT : POLLIN;
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {transport_.native_handle(), socket_events, 0}};
    const nfds_t count = fds[1].fd >= 0 ? 2 : 1;
    ::poll(fds, count, static_cast<int>(timeout));
    if (fds[0].revents & POLLIN) {
      uint64_t drained;
      (void)!::read(wake_fd_, &drained, sizeof drained);
    }
  }
  client_.disconnect(1000);
  transport_.set_cancel_fd(-1);  // a client polled by hand after this connects as before
  // What never ran: stop() set running_ under the lock, so nothing is queued after this.
  cancel_all(work);
  std::deque<Work> queued;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued.swap(queue_);
  }
  cancel_all(queued);
  // Only now: the handler and the cancel callbacks above still run on this thread, and may stop.
  std::lock_guard<std::mutex> lock(mutex_);
  owner_id_ = std::thread::id();  // a later thread may reuse the id
}

}  // namespace onenet::platform
