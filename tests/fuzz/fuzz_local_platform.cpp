// onenet-local's cloud side fed any device traffic: what a device under development may publish
// on its own topics (mosquitto, through onenet-local's plugin, lets a device publish only under
// $sys/{its product}/{its name}/). onenet-local is built with exceptions, and a json::get or
// at() on a member of the wrong type that throws through Client::poll ends it; so does a
// crash. Beyond surviving, each message must be answered as OneNET would:
//   - a OneJSON request whose JSON carries an id: exactly one reply, on its reply topic, a JSON
//     object with that id, an integer code and a string msg;
//   - any other OneJSON message: at most one such reply (an id salvaged from broken JSON);
//   - dp/post/json: exactly one answer, on accepted (with the id) or rejected (with err_code);
//   - cmd/response/{cmdid}: exactly one answer, accepted or rejected (no command is waiting
//     here, so it is rejected);
//   - image/update: accepted ({version}) or rejected ({err_code, err_msg}), then, only after an
//     acceptance, at most one image/update/delta with a non-empty state; only a data-stream
//     device's update is accepted;
//   - image/get: exactly one answer, the image ({state: {desired, reported}}) or a rejection;
//   - anything else: no answer.
// The platform runs without a broker: Platform::publish_through catches its answers.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_require.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/model/topics.hpp"
#include "platform.hpp"

namespace {

using nlohmann::json;
using onenet::model::Operation;

struct Identity {
  const char* product;
  const char* device;
};

// FuzzProd01 has the telemetry sample's thing model; FuzzProd02 none; MeterProd01 speaks data
// streams. The gateway gw has sub1 and sub2 bound.
constexpr Identity kDevices[] = {{"FuzzProd01", "gw"},    {"FuzzProd01", "sub1"},
                                 {"FuzzProd01", "dev"},   {"FuzzProd02", "sub2"},
                                 {"FuzzProd02", "plain"}, {"MeterProd01", "meter"}};

constexpr Operation kUplinks[] = {
    Operation::kPropertyPost, Operation::kDesiredGet, Operation::kDesiredDelete,
    Operation::kEventPost,    Operation::kPackPost,   Operation::kHistoryPost,
    Operation::kSubLogin,     Operation::kSubLogout,  Operation::kTopoAdd,
    Operation::kTopoDelete,   Operation::kTopoGet,    Operation::kTopoGetResult};

// Downlink operations whose replies the device sends (to commands nobody waits for here).
constexpr Operation kDownlinks[] = {Operation::kPropertySet,    Operation::kPropertyGet,
                                    Operation::kServiceInvoke,  Operation::kTopoChange,
                                    Operation::kSubPropertySet, Operation::kSubServiceInvoke};

const std::string& scratch_dir() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/fuzz_local_platform.XXXXXX";
    const char* made = ::mkdtemp(pattern);
    require(made != nullptr);
    return std::string(made);
  }();
  return dir;
}

// Parsed once: each input's platform gets a copy, not a parse of the file.
const onenet::model::ThingModel& thing_model() {
  static const onenet::model::ThingModel model = [] {
    std::ifstream in(ONENET_FUZZ_THING_MODEL);
    require(in.good());
    std::stringstream all;
    all << in.rdbuf();
    onenet::model::ThingModel loaded;
    std::string error;
    require(loaded.load(all.str(), &error));
    return loaded;
  }();
  return model;
}

std::string topic_of(const Identity& who, Operation operation, bool reply,
                     std::string_view service = {}) {
  char out[256];
  const auto n = onenet::model::make_topic(out, sizeof out, who.product, who.device, operation,
                                           reply, service);
  require(n.ok());
  return std::string(out, n.value());
}

std::string stream_topic_of(const Identity& who, onenet::model::StreamTopic kind,
                            std::string_view command_id = {}) {
  char out[256];
  const auto n =
      onenet::model::make_stream_topic(out, sizeof out, who.product, who.device, kind, command_id);
  require(n.ok());
  return std::string(out, n.value());
}

struct Published {
  std::string topic;
  std::string payload;
};

// A OneJSON reply as OneNET shapes it: {id, code, msg}, the id echoed.
void require_reply(const Published& answer, const std::string& expected_topic,
                   const std::string* expected_id) {
  require(answer.topic == expected_topic);
  const json reply = onenet::model::parse_json(answer.payload);
  require(reply.is_object());
  require(reply.contains("id") && reply["id"].is_string());
  if (expected_id != nullptr) require(reply["id"] == *expected_id);
  require(reply.contains("code") && reply["code"].is_number_integer());
  require(reply.contains("msg") && reply["msg"].is_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = scratch_dir();
  // A fresh platform for each input, so that a finding replays alone.
  onenet_local::Platform platform(dir + "/registry.json", /*event_log=*/"", "secret", dir);
  std::vector<Published> published;
  platform.publish_through([&](const std::string& topic, const std::string& payload) {
    published.push_back({topic, payload});
  });
  {
    auto guard = platform.lock();
    onenet_local::Registry& registry = platform.registry();
    registry.ensure_user();
    for (const Identity& who : kDevices) registry.create_device(who.product, who.device, "");
    registry.ensure_product("MeterProd01").data_stream = true;
    registry.bind("FuzzProd01/gw", "FuzzProd01/sub1");
    registry.bind("FuzzProd01/gw", "FuzzProd02/sub2");
  }
  platform.set_thing_model("FuzzProd01", thing_model());
  platform.set_max_subdevices(2);

  FuzzedDataProvider in(data, size);
  for (int message = 0; message < 8 && in.remaining_bytes() > 0; ++message) {
    const Identity& who = kDevices[in.ConsumeIntegralInRange<size_t>(0, std::size(kDevices) - 1)];
    const uint8_t shape = in.ConsumeIntegralInRange<uint8_t>(0, 7);
    std::string topic;
    Operation operation = Operation::kPropertyPost;
    std::string command_id;
    switch (shape) {
      case 0:  // a request of the device
        operation = kUplinks[in.ConsumeIntegralInRange<size_t>(0, std::size(kUplinks) - 1)];
        topic = topic_of(who, operation, false);
        break;
      case 1: {  // a reply of the device to a command
        operation = kDownlinks[in.ConsumeIntegralInRange<size_t>(0, std::size(kDownlinks) - 1)];
        topic = topic_of(who, operation, true, "svc");
        break;
      }
      case 2:
        topic = stream_topic_of(who, onenet::model::StreamTopic::kPointsPost);
        break;
      case 3:
        command_id = in.ConsumeBool() ? "5c1b2f8e-0000-4000-8000-000000000000" : "x";
        topic = stream_topic_of(who, onenet::model::StreamTopic::kCommandResponse, command_id);
        break;
      case 4:
        topic = stream_topic_of(who, onenet::model::StreamTopic::kImageUpdate);
        break;
      case 5:
        topic = stream_topic_of(who, onenet::model::StreamTopic::kImageGet);
        break;
      default:  // anything under the device's own topics
        topic = std::string("$sys/") + who.product + "/" + who.device + "/" +
                in.ConsumeRandomLengthString(64);
        break;
    }
    const std::string payload = in.ConsumeRandomLengthString(2048);

    published.clear();
    onenet::client::Message delivered;
    delivered.topic = topic;
    delivered.payload = onenet::ByteView(payload);
    delivered.total_size = payload.size();
    platform.on_message(delivered);

    // Two only for an image update followed by its delta (checked below).
    require(published.size() <= 2);
    const json request = onenet::model::parse_json(payload);
    const bool meter = std::string(who.product) == "MeterProd01";
    switch (shape) {
      case 0: {
        require(published.size() <= 1);
        const std::string id = request.is_object() ? onenet::model::request_id(request) : "";
        const bool answered = operation != Operation::kTopoGetResult;
        if (!id.empty() && answered) {
          require(published.size() == 1);
          require_reply(published[0], topic_of(who, operation, true), &id);
        } else if (!published.empty()) {
          require(answered);
          require_reply(published[0], topic_of(who, operation, true), nullptr);
        }
        break;
      }
      case 1:  // a reply nobody waits for is logged, never answered
        require(published.empty());
        break;
      case 4: {
        require(!published.empty());
        const json answer = onenet::model::parse_json(published[0].payload);
        require(answer.is_object());
        if (published[0].topic ==
            stream_topic_of(who, onenet::model::StreamTopic::kImageUpdateAccepted)) {
          require(meter && answer.contains("version") && answer["version"].is_number_integer());
        } else {
          require(published[0].topic ==
                  stream_topic_of(who, onenet::model::StreamTopic::kImageUpdateRejected));
          require(published.size() == 1);
          require(answer.contains("err_code") && answer["err_code"].is_number_integer());
          require(answer.contains("err_msg") && answer["err_msg"].is_string());
        }
        if (published.size() == 2) {
          require(published[1].topic ==
                  stream_topic_of(who, onenet::model::StreamTopic::kImageUpdateDelta));
          const json delta = onenet::model::parse_json(published[1].payload);
          require(delta.is_object() && delta.contains("state") && delta["state"].is_object() &&
                  !delta["state"].empty());
        }
        break;
      }
      case 5: {
        require(published.size() == 1);
        const json answer = onenet::model::parse_json(published[0].payload);
        require(answer.is_object());
        if (published[0].topic ==
            stream_topic_of(who, onenet::model::StreamTopic::kImageGetAccepted)) {
          require(meter && answer.contains("state") && answer["state"].is_object());
        } else {
          require(published[0].topic ==
                  stream_topic_of(who, onenet::model::StreamTopic::kImageGetRejected));
          require(answer.contains("err_code") && answer["err_code"].is_number_integer());
        }
        break;
      }
      case 2: {
        require(published.size() == 1);
        const json answer = onenet::model::parse_json(published[0].payload);
        require(answer.is_object() && answer.contains("id") && answer["id"].is_number_integer());
        if (published[0].topic ==
            stream_topic_of(who, onenet::model::StreamTopic::kPointsAccepted)) {
          require(meter);
          require(answer["id"].get<int64_t>() > 0);
        } else {
          require(published[0].topic ==
                  stream_topic_of(who, onenet::model::StreamTopic::kPointsRejected));
          require(answer.contains("err_code") && answer["err_code"].is_number_integer());
        }
        break;
      }
      case 3:
        require(published.size() == 1);
        require(published[0].topic ==
                stream_topic_of(who, onenet::model::StreamTopic::kCommandRejected, command_id));
        break;
      default:
        break;
    }
  }
  return 0;
}
