// A model::Device on a TCP link to a local broker, driven by poll(): what the integration tests
// of the thing model run against onenet-local. `Handler` answers the cloud's commands.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>

#include "onenet/model/device.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "poll_until.hpp"

namespace itest {

template <typename Handler>
struct LiveDevice {
  using Storage = onenet::client::StaticStorage<16384, 16384, 32768, 32, 512>;

  LiveDevice(uint16_t port, const std::string& product, const std::string& name,
             const std::string& key)
      : transport("127.0.0.1", port),
        storage(std::make_unique<Storage>()),
        device(transport, clock, onenet::platform::system_random, onenet::platform::default_hmac(),
               onenet::platform::unix_seconds, storage->view(), app) {
    options.product_id = product;
    options.device_name = name;
    options.access_key = key;
  }
  bool start() {
    if (device.start(options) != onenet::Status::kOk) return false;
    return poll_until([&] { return device.state() == onenet::client::State::kConnected; });
  }
  bool poll_until(const std::function<bool()>& done, int timeout_ms = 15000) {
    return itest::poll_until([&] { device.poll(10); }, done, timeout_ms);
  }
  // Sends one request through `send` and polls until its reply; fails the test on anything else.
  onenet::model::Reply await(const std::function<onenet::Result<std::string>(
                                 onenet::model::Device&, onenet::model::ReplyCallback)>& send) {
    onenet::model::Reply reply;
    onenet::Status status = onenet::Status::kInternalError;
    REQUIRE(send(device, [&](onenet::Status s, const onenet::model::Reply& r) {
              status = s;
              reply = r;
            }).ok());
    REQUIRE(poll_until([&] { return status != onenet::Status::kInternalError; }));
    REQUIRE(status == onenet::Status::kOk);
    return reply;
  }

  onenet::platform::TcpTransport transport;
  onenet::platform::SystemClock clock;
  std::unique_ptr<Storage> storage;
  Handler app;
  onenet::model::Device device;
  onenet::model::DeviceOptions options;
};

}  // namespace itest
