// What a user's first program does with the SDK, built from outside the SDK's own tree: sign a
// token (checked against onenet-protocol.md's vector V3), then log in to a OneNET-compatible
// cloud as a device and post properties, one refused locally by the thing model and one answered
// by the cloud. Installed, it also checks that the package's version is its headers'.
// Exit 0 only if every step gave what it should; each failure says which step.
//
// Usage: package_app HOST PORT PRODUCT DEVICE KEY
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "onenet/auth/token.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/model/topics.hpp"
#include "onenet/platform/device_runner.hpp"
#include "onenet/platform/hmac.hpp"
#include "onenet/platform/system.hpp"
#include "onenet/platform/transport.hpp"
#include "onenet/version.hpp"

namespace {

int fail(const char* step, const std::string& detail) {
  std::fprintf(stderr, "package_app: %s: %s\n", step, detail.c_str());
  return 1;
}

constexpr const char* kThingModel = R"({"properties": [
  {"identifier": "temperature", "functionMode": "property", "accessMode": "r",
   "dataType": {"type": "float", "specs": {"min": "-40", "max": "125"}}}],
  "events": [], "services": []})";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return fail("usage", "package_app HOST PORT PRODUCT DEVICE KEY");
  const std::string host = argv[1];
  const auto port = static_cast<uint16_t>(std::atoi(argv[2]));
  const std::string product = argv[3], device_name = argv[4], key = argv[5];

#ifdef EXPECTED_SDK_VERSION
  if (std::string(ONENET_SDK_VERSION_STRING) != EXPECTED_SDK_VERSION)
    return fail("version", std::string("headers ") + ONENET_SDK_VERSION_STRING + ", package " +
                               EXPECTED_SDK_VERSION);
#endif

  // 1. The token of vector V3 (sha256), byte for byte, with the platform's HMAC.
  onenet::auth::TokenRequest request;
  request.resource = "products/Ck2AF9QD2K/devices/test";
  request.access_key = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
  request.expires_at = 32472115200;
  request.method = onenet::auth::Method::kSha256;
  char token[256];
  const auto signed_length =
      onenet::auth::sign_token(request, onenet::platform::default_hmac(), token, sizeof token);
  if (!signed_length) return fail("sign V3", onenet::to_string(signed_length.status()));
  const std::string expected =
      "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200"
      "&method=sha256&sign=6Y4zbk3Sa89tRf9lMxCCE0jG74uEcEuu%2Fnly1pU9ADM%3D";
  if (std::string(token, signed_length.value()) != expected)
    return fail("sign V3", std::string(token, signed_length.value()));

  // 2. The raw topic table.
  char topic[128];
  const auto topic_length = onenet::model::make_topic(topic, sizeof topic, product, device_name,
                                                      onenet::model::Operation::kPropertyPost);
  if (!topic_length ||
      std::string(topic) != "$sys/" + product + "/" + device_name + "/thing/property/post")
    return fail("topic table", topic);

  // 3. A device on the cloud, through the Linux runner.
  onenet::model::ThingModel model;
  std::string model_error;
  if (!model.load(kThingModel, &model_error)) return fail("thing model", model_error);
  onenet::platform::TcpTransport transport(host, port);
  onenet::platform::SystemClock clock;
  auto storage = std::make_unique<onenet::client::StaticStorage<4096, 4096, 8192, 8, 256>>();
  onenet::model::CommandHandler handler;
  onenet::model::Device device(transport, clock, onenet::platform::system_random,
                               onenet::platform::default_hmac(), onenet::platform::unix_seconds,
                               storage->view(), handler);
  onenet::platform::DeviceRunner runner(device, transport);
  onenet::model::DeviceOptions options;
  options.product_id = product;
  options.device_name = device_name;
  options.access_key = key;
  options.thing_model = &model;
  const onenet::Status started = runner.start(options);
  if (started != onenet::Status::kOk) return fail("start", onenet::to_string(started));

  const auto refused = runner.post_properties({{"temperature", 500.0}}).get();
  if (refused.status != onenet::Status::kModelInvalidValue)
    return fail("out-of-range value", onenet::to_string(refused.status));

  auto posted = runner.post_properties({{"temperature", 21.5}});
  // A guard against a hang only: the device's own reply timeout ends the request first.
  if (posted.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
    return fail("property post", "no answer");
  const auto result = posted.get();
  if (result.status != onenet::Status::kOk || result.reply.code != 200)
    return fail("property post", std::string(onenet::to_string(result.status)) + ", code " +
                                     std::to_string(result.reply.code));
  runner.stop();
  std::printf("package_app: token, topic table and a property post through %s:%u all as expected\n",
              host.c_str(), port);
  return 0;
}
