// Thing-model fuzzer: everything that reads JSON from outside. The first byte picks the
// consumer, the rest is its text:
//   0  ThingModel::load (an exported thing model), then checks against what it loaded;
//   1  every check of a fixed thing model, json_access, to_text, on the text as JSON;
//   2  model::Device::on_message on each downlink and reply topic (ota/inform too), the text as
//      payload; and a data-stream device's (its answers, commands, device image answers and
//      deltas), which also posts the value as data points and as its image;
//   3  gateway::Gateway: sub-device commands, topology changes and a report, from the text.
//
// With bit 2 of the first byte set, the rest is not text but a recipe for a JSON value (see
// Recipe): members named as OneJSON names them, each of a type the bytes choose, so the
// consumers meet members of every unexpected type far more often than byte mutations of
// text would make them.
//
// Oracle: nothing aborts (nlohmann/json is built with JSON_NOEXCEPTION, where a member of an
// unexpected type or a dump of a string that is not UTF-8 calls abort()), crashes or hangs,
// under ASan and UBSan; to_text() is valid UTF-8 JSON that parses back; no command costs the
// device or the gateway its link.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_require.hpp"
#include "onenet/gateway/gateway.hpp"
#include "onenet/model/device.hpp"
#include "onenet/model/json_access.hpp"
#include "onenet/model/thing_model.hpp"
#include "onenet/platform/hmac.hpp"

using namespace onenet;
using nlohmann::json;

namespace {

// Every data type of section 4.7 once, nested where the format nests.
constexpr const char* kThingModel = R"({
  "properties": [
    {"identifier": "level", "accessMode": "rw", "dataType": {"type": "int32", "specs": {"min": "0", "max": "100"}}},
    {"identifier": "count", "accessMode": "r", "dataType": {"type": "int64", "specs": {}}},
    {"identifier": "temp", "accessMode": "r", "dataType": {"type": "float", "specs": {"min": "-40", "max": "125"}}},
    {"identifier": "ratio", "accessMode": "rw", "dataType": {"type": "double", "specs": {}}},
    {"identifier": "on", "accessMode": "rw", "dataType": {"type": "bool", "specs": {}}},
    {"identifier": "mode", "accessMode": "rw", "dataType": {"type": "enum", "specs": {"0": "a", "1": "b"}}},
    {"identifier": "label", "accessMode": "rw", "dataType": {"type": "string", "specs": {"length": 16}}},
    {"identifier": "at", "accessMode": "r", "dataType": {"type": "date", "specs": {}}},
    {"identifier": "flags", "accessMode": "r", "dataType": {"type": "bitMap", "specs": {"length": 4}}},
    {"identifier": "points", "accessMode": "rw", "dataType": {"type": "array", "specs": {"length": 3,
      "type": "struct", "specs": [
        {"identifier": "x", "dataType": {"type": "float", "specs": {}}},
        {"identifier": "tags", "dataType": {"type": "array", "specs": {"length": 2, "type": "string", "specs": {"length": 4}}}}]}}}
  ],
  "events": [{"identifier": "alarm", "outputData": [
    {"identifier": "code", "dataType": {"type": "int32", "specs": {"min": "1", "max": "9"}}}]}],
  "services": [{"identifier": "reboot", "inputData": [
    {"identifier": "delay", "dataType": {"type": "int32", "specs": {"min": "0", "max": "60"}}}],
    "outputData": [{"identifier": "ok", "dataType": {"type": "bool", "specs": {}}}]}]
})";

const model::ThingModel& fixed_model() {
  static model::ThingModel* loaded = [] {
    auto* m = new model::ThingModel;
    std::string error;
    require(m->load(kThingModel, &error));
    return m;
  }();
  return *loaded;
}

void check_all(const model::ThingModel& m, const json& v) {
  (void)m.check_property_post(v);
  (void)m.check_property_set(v);
  (void)m.check_property_get(v);
  (void)m.check_event_post(v);
  (void)m.check_service_input("reboot", v);
  (void)m.check_service_output("reboot", v);
  (void)m.check_service_input("missing", v);
  for (const auto op : {model::Operation::kPropertySet, model::Operation::kPropertyGet,
                        model::Operation::kServiceInvoke, model::Operation::kPropertyPost}) {
    (void)model::check_command(&m, op, v, "reboot");
    (void)model::check_command(nullptr, op, v, "");
  }
}

// A handler that answers with what it was given, so replies carry the input back out.
struct Echo : model::CommandHandler, gateway::SubDeviceHandler {
  model::Reply on_property_set(const json& params) override { return {200, "ok", params}; }
  model::Reply on_property_get(const std::vector<std::string>& ids) override {
    return {200, ids.empty() ? "none" : ids.front(), json(ids)};
  }
  model::Reply on_service(const std::string& id, const json& input) override {
    return {200, id, input};
  }
  std::optional<std::string> on_command(const std::string&, std::string_view payload) override {
    return std::string(payload);  // over 1023 bytes: refused, not sent
  }
  // Reports what the delta asks for, as a device does: update_image from inside poll().
  void on_image_delta(const json& delta) override {
    if (image_device == nullptr) return;
    const json* state = model::member(delta, "state");
    (void)image_device->update_image(state != nullptr ? *state : json(), nullptr, nullptr);
  }
  model::Device* image_device = nullptr;
};

// The cloud's end of a link, as little of it as a device needs: every byte sent is taken (and
// dropped), the first read after an open returns CONNACK, later reads nothing. So the device
// and the gateway are connected, and their replies go out through the client and the codec.
struct SinkTransport : port::Transport {
  Status open(uint32_t) override {
    connack_due = true;
    return Status::kOk;
  }
  int32_t send(const uint8_t*, size_t size) override { return static_cast<int32_t>(size); }
  int32_t recv(uint8_t* data, size_t size) override {
    if (!connack_due || size < 4) return 0;
    connack_due = false;
    const uint8_t connack[4] = {0x20, 0x02, 0x00, 0x00};
    std::memcpy(data, connack, sizeof connack);
    return 4;
  }
  Status wait(uint32_t, bool) override { return Status::kOk; }
  void close() override {}
  bool connack_due = false;
};

struct FixedClock : port::Clock {
  uint64_t now_ms() override { return 1000; }
};

uint64_t unix_seconds() {
  return 1700000000;
}

// Builds a JSON value from bytes: a byte picks each value's type, member names come mostly
// from the ones the consumers look up. Past the end every byte reads 0 (null).
class Recipe {
 public:
  Recipe(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  json value(int depth = 0) {
    switch (byte() % 9) {
      case 0:
        return nullptr;
      case 1:
        return (byte() & 1) != 0;
      case 2:
        return static_cast<int64_t>(static_cast<int8_t>(byte()));
      case 3: {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = v << 8 | byte();
        return (byte() & 1) ? json(v) : json(static_cast<int64_t>(v));
      }
      case 4:
        return static_cast<double>(static_cast<int8_t>(byte())) * 1e300 / (1 + byte());
      case 5:
        return text();
      case 6: {
        if (depth > 6) return nullptr;
        json list = json::array();
        for (int n = byte() % 4; n > 0; --n) list.push_back(value(depth + 1));
        return list;
      }
      default: {
        if (depth > 6) return nullptr;
        json object = json::object();
        for (int n = byte() % 5; n > 0; --n) object[name()] = value(depth + 1);
        return object;
      }
    }
  }

 private:
  uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::string text() {
    const uint8_t n = byte() % 8;
    if (n < 4) return name();
    std::string raw;  // arbitrary bytes: UTF-8 or not
    for (uint8_t i = byte() % 6; i > 0; --i) raw.push_back(static_cast<char>(byte()));
    return raw;
  }
  std::string name() {
    static const char* const kNames[] = {
        "id",         "code",       "msg",   "data",     "params",    "value",      "time",
        "version",    "identifier", "input", "identity", "productID", "deviceName", "subList",
        "properties", "events",     "level", "count",    "temp",      "ratio",      "on",
        "mode",       "label",      "at",    "flags",    "points",    "x",          "tags",
        "alarm",      "reboot",     "delay", "Sub",      "s1",        "history",    "sasToken",
        "dp",         "v",          "t",     "err_code", "err_msg"};
    const uint8_t pick = byte();
    if (pick < 224) return kNames[pick % (sizeof kNames / sizeof kNames[0])];
    return std::string(1, static_cast<char>(byte()));
  }

  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

constexpr const char* kKey = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";

// One device and one gateway for the whole run (a Device is not cheap to start), both
// connected to a sink that never answers: their replies go out, their requests stay in flight.
struct Rig {
  SinkTransport device_link;
  SinkTransport gateway_link;
  SinkTransport streams_link;
  FixedClock clock;
  Echo echo;
  client::StaticStorage<512, 512, 4096, 8, 256> device_storage;
  client::StaticStorage<512, 512, 4096, 8, 256> gateway_storage;
  client::StaticStorage<512, 512, 4096, 8, 256> streams_storage;
  model::Device device{
      device_link,           clock, nullptr, platform::default_hmac(), unix_seconds,
      device_storage.view(), echo};
  model::Device streams{
      streams_link,           clock, nullptr, platform::default_hmac(), unix_seconds,
      streams_storage.view(), echo};
  gateway::Gateway gateway{
      gateway_link,           clock, nullptr, platform::default_hmac(), unix_seconds,
      gateway_storage.view(), echo};

  Rig() {
    model::DeviceOptions options;
    options.product_id = "Pid";
    options.device_name = "dev";
    options.access_key = kKey;
    options.thing_model = &fixed_model();
    options.ota_inform = true;
    require(device.start(options) == Status::kOk);
    options.protocol = model::DataProtocol::kDataStream;
    options.thing_model = nullptr;
    options.device_name = "meter";
    options.device_image = true;
    echo.image_device = &streams;
    require(streams.start(options) == Status::kOk);
    options.device_image = false;
    gateway::GatewayOptions g;
    g.device.product_id = "Gw";
    g.device.device_name = "gw";
    g.device.access_key = kKey;
    g.thing_models["Sub"] = &fixed_model();
    require(gateway.start(g) == Status::kOk);
    require(gateway.add({"Sub", "s1", kKey}, &echo) == Status::kOk);
    for (int i = 0; i < 4; ++i) {
      (void)device.poll(0);
      (void)streams.poll(0);
      (void)gateway.poll(0);
    }
    require(device.state() == client::State::kConnected);
    require(streams.state() == client::State::kConnected);
    require(gateway.device().state() == client::State::kConnected);
  }
};

Rig& rig() {
  static Rig* r = new Rig;
  return *r;
}

void deliver(model::Device& device, const std::string& topic, const std::string& payload) {
  client::Message m;
  m.topic = topic;
  m.payload = ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  m.total_size = payload.size();
  device.on_message(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  json parsed;
  std::string text;
  if ((data[0] & 4) != 0) {  // a recipe: the value as built, its text as to_text writes it
    parsed = Recipe(data + 1, size - 1).value();
    text = model::to_text(parsed);
  } else {
    text.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    parsed = model::parse_json(text);
  }
  switch (data[0] % 4) {
    case 0: {
      model::ThingModel m;
      std::string error;
      if (m.load(text, &error)) {
        check_all(m, json::parse(R"({"level":{"value":5},"label":"x"})"));
        check_all(m, json::array({"level", "points"}));
      }
      break;
    }
    case 1: {
      check_all(fixed_model(), parsed);
      if (!parsed.is_discarded() && model::is_utf8(parsed)) {  // else it has no exact text
        const std::string out = model::to_text(parsed);
        require(model::is_utf8(json(out)));
        require(json::parse(out, nullptr, false) == parsed);
      }
      (void)model::string_member(parsed, "id");
      (void)model::integer_member(parsed, "code", 0);
      break;
    }
    case 2: {
      for (const char* topic :
           {"$sys/Pid/dev/thing/property/set", "$sys/Pid/dev/thing/property/get",
            "$sys/Pid/dev/thing/service/reboot/invoke", "$sys/Pid/dev/thing/property/post/reply",
            "$sys/Pid/dev/thing/event/post/reply", "$sys/Pid/dev/thing/property/desired/get/reply",
            "$sys/Pid/dev/thing/sub/topo/change", "$sys/Pid/dev/ota/inform"}) {
        deliver(rig().device, topic, text);
      }
      (void)rig().device.poll(0);
      require(rig().device.state() == client::State::kConnected);  // no command costs the link
      model::Device& streams = rig().streams;
      for (const char* topic :
           {"$sys/Pid/meter/dp/post/json/accepted", "$sys/Pid/meter/dp/post/json/rejected",
            "$sys/Pid/meter/cmd/request/c1", "$sys/Pid/meter/cmd/response/c1/accepted",
            "$sys/Pid/meter/cmd/response/c1/rejected", "$sys/Pid/meter/image/update/accepted",
            "$sys/Pid/meter/image/update/rejected", "$sys/Pid/meter/image/update/delta",
            "$sys/Pid/meter/image/get/accepted", "$sys/Pid/meter/image/get/rejected"}) {
        deliver(streams, topic, text);
      }
      // Whatever the checks let through is well-formed enough to send.
      (void)model::check_datapoints(parsed);
      (void)streams.post_datapoint_series(parsed, nullptr);
      (void)streams.post_datapoints(parsed, nullptr, model::integer_member(parsed, "t", 0));
      (void)streams.update_image(parsed, model::member_or(parsed, "desired", json()), nullptr);
      (void)streams.get_image(nullptr);
      (void)streams.poll(0);
      streams.expire_requests();
      require(streams.state() == client::State::kConnected);
      break;
    }
    case 3: {
      model::Device& gw = rig().gateway.device();
      for (const char* topic :
           {"$sys/Gw/gw/thing/sub/property/set", "$sys/Gw/gw/thing/sub/property/get",
            "$sys/Gw/gw/thing/sub/service/invoke", "$sys/Gw/gw/thing/sub/topo/change",
            "$sys/Gw/gw/thing/sub/topo/get/reply", "$sys/Gw/gw/thing/sub/login/reply"}) {
        deliver(gw, topic, text);
      }
      if (parsed.is_object()) {
        gateway::SubReport report{"Sub", "s1", model::member_or(parsed, "properties", json()),
                                  model::member_or(parsed, "events", json())};
        (void)rig().gateway.report({report}, model::integer_member(parsed, "history", 0) != 0,
                                   nullptr);
      }
      (void)rig().gateway.poll(0);
      require(gw.state() == client::State::kConnected);
      break;
    }
  }
  return 0;
}
