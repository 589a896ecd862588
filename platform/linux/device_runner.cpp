#include "onenet/platform/device_runner.hpp"

#include <memory>

namespace onenet::platform {

DeviceRunner::DeviceRunner(model::Device& device, NativeTransport& transport)
    : device_(device),
      runner_(
          device.client(), transport, [&device] { device.expire_requests(); },
          [&device] { return device.next_timeout_ms(); }) {}

DeviceRunner::~DeviceRunner() {
  stop();
}

Status DeviceRunner::start(const model::DeviceOptions& options) {
  const Status started = device_.start(options);
  if (started != Status::kOk) return started;
  return runner_.run_in_background();
}

void DeviceRunner::stop() {
  runner_.stop();
}

std::future<ModelResult> DeviceRunner::submit(
    std::function<Result<std::string>(model::Device&, model::ReplyCallback)> send) {
  auto promise = std::make_shared<std::promise<ModelResult>>();
  std::future<ModelResult> future = promise->get_future();
  runner_.post(
      [this, promise, send = std::move(send)](client::Client&) {
        const Result<std::string> id =
            send(device_, [promise](Status status, const model::Reply& reply) {
              promise->set_value(ModelResult{status, reply, {}});
            });
        if (id.status() == Status::kClientBusy || id.status() == Status::kClientInflightFull)
          return false;  // retry
        if (!id) promise->set_value(ModelResult{id.status(), model::Reply{}, device_.last_error()});
        return true;
      },
      [promise](Status status) {
        promise->set_value(ModelResult{status, model::Reply{}, "the runner is not running"});
      });
  return future;
}

std::future<ModelResult> DeviceRunner::post_properties(nlohmann::json values, int64_t time_ms) {
  return submit([values = std::move(values), time_ms](model::Device& d, model::ReplyCallback done) {
    return d.post_properties(values, std::move(done), time_ms);
  });
}

std::future<ModelResult> DeviceRunner::post_event(std::string identifier, nlohmann::json output,
                                                  int64_t time_ms) {
  return submit([identifier = std::move(identifier), output = std::move(output), time_ms](
                    model::Device& d, model::ReplyCallback done) {
    return d.post_event(identifier, output, std::move(done), time_ms);
  });
}

std::future<ModelResult> DeviceRunner::get_desired(std::vector<std::string> identifiers) {
  return submit(
      [identifiers = std::move(identifiers)](model::Device& d, model::ReplyCallback done) {
        return d.get_desired(identifiers, std::move(done));
      });
}

std::future<ModelResult> DeviceRunner::delete_desired(std::map<std::string, int> versions) {
  return submit([versions = std::move(versions)](model::Device& d, model::ReplyCallback done) {
    return d.delete_desired(versions, std::move(done));
  });
}

std::future<ModelResult> DeviceRunner::post_datapoints(nlohmann::json values, int64_t time_s) {
  return submit([values = std::move(values), time_s](model::Device& d, model::ReplyCallback done) {
    return d.post_datapoints(values, std::move(done), time_s);
  });
}

std::future<ModelResult> DeviceRunner::post_datapoint_series(nlohmann::json dp) {
  return submit([dp = std::move(dp)](model::Device& d, model::ReplyCallback done) {
    return d.post_datapoint_series(dp, std::move(done));
  });
}

std::future<ModelResult> DeviceRunner::update_image(nlohmann::json reported,
                                                    nlohmann::json desired) {
  return submit([reported = std::move(reported), desired = std::move(desired)](
                    model::Device& d, model::ReplyCallback done) {
    return d.update_image(reported, desired, std::move(done));
  });
}

std::future<ModelResult> DeviceRunner::get_image() {
  return submit(
      [](model::Device& d, model::ReplyCallback done) { return d.get_image(std::move(done)); });
}

std::future<ModelResult> DeviceRunner::post_batch(nlohmann::json params, bool history) {
  return submit([params = std::move(params), history](model::Device& d, model::ReplyCallback done) {
    return d.post_batch(params, history, std::move(done));
  });
}

std::future<ModelResult> DeviceRunner::request(model::Operation operation, nlohmann::json params) {
  return submit(
      [operation, params = std::move(params)](model::Device& d, model::ReplyCallback done) {
        return d.request(operation, params, std::move(done));
      });
}

}  // namespace onenet::platform
