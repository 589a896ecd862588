// model::Device on an owner thread (platform::Runner), with std::future results: any thread may
// post, and wait on the platform's reply. Linux only. The device and transport must outlive it;
// CommandHandler callbacks run on the owner thread.
#pragma once

#include <future>
#include <map>
#include <string>
#include <vector>

#include "onenet/model/device.hpp"
#include "onenet/platform/runner.hpp"

namespace onenet::platform {

/// What a request came to: kOk with the platform's reply (check reply.code), or why not.
struct ModelResult {
  Status status = Status::kOk;
  model::Reply reply;
  std::string error;  ///< device.last_error() when the request was refused locally
};

class DeviceRunner {
 public:
  DeviceRunner(model::Device& device, NativeTransport& transport);
  ~DeviceRunner();  ///< stop()

  /// Device::start, then the owner thread.
  Status start(const model::DeviceOptions& options);
  /// Disconnects cleanly and joins the owner thread; from the owner thread (a handler), asks it
  /// to end without waiting (Runner::stop).
  void stop();

  std::future<ModelResult> post_properties(nlohmann::json values, int64_t time_ms = 0);
  std::future<ModelResult> post_event(std::string identifier, nlohmann::json output,
                                      int64_t time_ms = 0);
  std::future<ModelResult> get_desired(std::vector<std::string> identifiers);
  std::future<ModelResult> delete_desired(std::map<std::string, int> versions);
  /// pack/post (history = false) or history/post.
  std::future<ModelResult> post_batch(nlohmann::json params, bool history);
  /// Data-stream products: dp/post/json (Device::post_datapoints, post_datapoint_series).
  std::future<ModelResult> post_datapoints(nlohmann::json values, int64_t time_s = 0);
  std::future<ModelResult> post_datapoint_series(nlohmann::json dp);
  /// The device image (DeviceOptions::device_image): Device::update_image, get_image.
  std::future<ModelResult> update_image(nlohmann::json reported, nlohmann::json desired);
  std::future<ModelResult> get_image();
  /// Any uplink operation (the others' building block).
  std::future<ModelResult> request(model::Operation operation, nlohmann::json params);

 private:
  // Runs `send` on the owner thread with a callback that fulfils the returned future.
  std::future<ModelResult> submit(
      std::function<Result<std::string>(model::Device&, model::ReplyCallback)> send);

  model::Device& device_;
  Runner runner_;
};

}  // namespace onenet::platform
