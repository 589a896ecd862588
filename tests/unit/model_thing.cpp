// Thing-model loading (OneNET's export format, onenet-protocol.md 4.7) and value checks for every
// data type: valid, invalid and boundary values.
#include <doctest/doctest.h>

#include "onenet/model/thing_model.hpp"

using nlohmann::json;
using onenet::model::DataType;
using onenet::model::ThingModel;
using onenet::model::TypeSpec;

namespace {

// Every type, with numeric specs written as strings and empty step/unit, as the console exports.
const char* kModel = R"({
  "version": "1.0", "profile": {"productId": "5S34OM4Rc6"},
  "properties": [
    {"identifier": "i32", "accessMode": "rw", "dataType": {"type": "int32", "specs": {"min": "-10", "max": "10", "step": "", "unit": ""}}},
    {"identifier": "i64", "accessMode": "r", "dataType": {"type": "int64", "specs": {"min": "-9007199254740993", "max": "9007199254740993"}}},
    {"identifier": "f", "accessMode": "r", "dataType": {"type": "float", "specs": {"min": "-55", "max": "125", "step": "", "unit": ""}}},
    {"identifier": "d", "accessMode": "r", "dataType": {"type": "double", "specs": {"min": 0, "max": 1}}},
    {"identifier": "b", "accessMode": "rw", "dataType": {"type": "bool", "specs": {"0": "off", "1": "on"}}},
    {"identifier": "e", "accessMode": "rw", "dataType": {"type": "enum", "specs": {"0": "low", "1": "mid", "2": "high"}}},
    {"identifier": "s", "accessMode": "rw", "dataType": {"type": "string", "specs": {"length": 4}}},
    {"identifier": "t", "accessMode": "r", "dataType": {"type": "date", "specs": {}}},
    {"identifier": "bits", "accessMode": "r", "dataType": {"type": "bitMap", "specs": {"length": 3}}},
    {"identifier": "arr", "accessMode": "r", "dataType": {"type": "array", "specs": {"length": 2, "type": "int32", "specs": {"min": "0", "max": "9"}}}},
    {"identifier": "st", "accessMode": "r", "dataType": {"type": "struct", "specs": [
      {"identifier": "x", "name": "x", "dataType": {"type": "float", "specs": {}}},
      {"identifier": "y", "name": "y", "dataType": {"type": "int32", "specs": {"min": "0", "max": "1"}}}]}},
    {"identifier": "$OneNET_LBS", "functionType": "s", "accessMode": "r", "dataType": {"type": "array",
      "specs": {"length": 3, "type": "struct", "specs": [
        {"identifier": "lon", "name": "lon", "dataType": {"type": "double", "specs": {}}}]}}}
  ],
  "events": [{"identifier": "alarm", "eventType": "alert", "outputData": [
    {"identifier": "level", "name": "l", "dataType": {"type": "int32", "specs": {"min": "1", "max": "3"}}}]}],
  "services": [{"identifier": "reboot", "callType": "async",
    "inputData": [{"identifier": "delay", "name": "d", "dataType": {"type": "int32", "specs": {"min": "0", "max": "60"}}}],
    "outputData": [{"identifier": "ok", "name": "o", "dataType": {"type": "bool", "specs": {}}}]}],
  "combs": []
})";

ThingModel model() {
  ThingModel m;
  std::string error;
  REQUIRE_MESSAGE(m.load(kModel, &error), error);
  return m;
}

std::string check(const ThingModel& m, const char* property, const json& value) {
  return ThingModel::check_value(m.property(property)->type, value, property);
}

}  // namespace

TEST_CASE("an exported thing model loads: identifiers, access modes, types, string specs") {
  const ThingModel m = model();
  CHECK(m.properties().size() == 12);
  CHECK(m.property("i32")->writable);
  CHECK_FALSE(m.property("f")->writable);
  CHECK(m.property("f")->type.type == DataType::kFloat);
  CHECK(m.property("f")->type.min == -55);
  CHECK(m.property("e")->type.enum_values.size() == 3);
  CHECK(m.property("arr")->type.element[0].type == DataType::kInt32);
  CHECK(m.property("st")->type.members.size() == 2);
  CHECK(m.event("alarm")->output.size() == 1);
  CHECK(m.service("reboot")->async);
}

TEST_CASE("bad thing models are refused with a reason") {
  ThingModel m;
  std::string error;
  CHECK_FALSE(m.load("not json", &error));
  CHECK_FALSE(
      m.load(R"({"properties":[{"identifier":"x","dataType":{"type":"quaternion"}}]})", &error));
  CHECK(error.find("unknown data type 'quaternion'") != std::string::npos);
  CHECK_FALSE(m.load(R"({"properties":[{"dataType":{"type":"int32"}}]})", &error));
  CHECK_FALSE(m.load(
      R"({"properties":[{"identifier":"x","dataType":{"type":"int32","specs":{"min":"-10.5"}}}]})",
      &error));
  CHECK(error.find("must be integers") != std::string::npos);
  REQUIRE(m.load(
      R"({"properties":[{"identifier":"x","dataType":{"type":"int32","specs":{"min":"1.0","max":1e3}}}]})",
      &error));
  CHECK(m.check_property_post({{"x", {{"value", 0}}}}).find("below the minimum 1") !=
        std::string::npos);
  CHECK(m.check_property_post({{"x", {{"value", 1000}}}}).empty());
  CHECK(m.check_property_post({{"x", {{"value", 1001}}}}).find("above the maximum 1000") !=
        std::string::npos);
  // A bound that is not a number was ignored, and the value went unchecked; "" means none.
  for (const char* bound : {"\"abc\"", "\"nan\"", "\"inf\"", "\" 5\"", "\"0x10\"", "true", "{}"}) {
    for (const char* type : {"int32", "float"}) {
      CAPTURE(bound);
      CAPTURE(type);
      const std::string text =
          std::string(R"({"properties":[{"identifier":"x","dataType":{"type":")") + type +
          R"(","specs":{"min":)" + bound + "}}}]}";
      CHECK_FALSE(m.load(text, &error));
      CHECK(error == "property x: min and max must be numbers (or \"\" for none)");
    }
  }
  REQUIRE(m.load(
      R"({"properties":[{"identifier":"x","dataType":{"type":"float","specs":{"min":"","max":"2.5e1"}}}]})",
      &error));
  CHECK_FALSE(m.property("x")->type.has_min);
  CHECK(m.check_property_post({{"x", {{"value", 26}}}}).find("above the maximum 25") !=
        std::string::npos);
  // An enum's keys are its integer values: another key was skipped, or "" read as 0.
  for (const char* key : {"", "x", "1.5", " 1", "99999999999999999999"}) {
    CAPTURE(key);
    const std::string text =
        std::string(
            R"({"properties":[{"identifier":"e","dataType":{"type":"enum","specs":{"0":"a",")") +
        key + R"(":"b"}}}]})";
    CHECK_FALSE(m.load(text, &error));
    CHECK(error == "property e: enum value '" + std::string(key) + "' is not an integer");
  }
  // A length that is no whole number in 0..2^31 (found by fuzz_model: converting -64 or 1e999
  // to a size was undefined behaviour).
  for (const char* length : {"-64", "\"1e999\"", "1.5", "4294967296", "\"nan\""}) {
    for (const char* type : {"string", "bitMap", "array"}) {
      CAPTURE(length);
      CAPTURE(type);
      const std::string text =
          std::string(R"({"properties":[{"identifier":"x","dataType":{"type":")") + type +
          R"(","specs":{"type":"int32","length":)" + length + "}}}]}";
      CHECK_FALSE(m.load(text, &error));
      CHECK(error.find("length is not a whole number") != std::string::npos);
    }
  }
  CHECK(m.load(
      R"({"properties":[{"identifier":"x","dataType":{"type":"string","specs":{"length":"2147483648"}}}]})",
      &error));
  CHECK(m.load(
      R"({"properties":[{"identifier":"x","dataType":{"type":"string","specs":{"length":""}}}]})",
      &error));  // empty: no limit, as exported models leave unused specs
}

TEST_CASE("int32 and int64: integers only, within specs and the type's range") {
  const ThingModel m = model();
  CHECK(check(m, "i32", -10) == "");
  CHECK(check(m, "i32", 10) == "");
  CHECK(check(m, "i32", 11).find("above the maximum 10") != std::string::npos);
  CHECK(check(m, "i32", -11).find("below the minimum -10") != std::string::npos);
  CHECK(check(m, "i32", 1.5).find("expected an integer") != std::string::npos);
  CHECK(check(m, "i32", "5").find("expected an integer") != std::string::npos);
  TypeSpec plain;
  CHECK(ThingModel::check_value(plain, json(2147483648LL), "x").find("does not fit in int32") !=
        std::string::npos);
  CHECK(ThingModel::check_value(plain, json(-2147483648LL), "x") == "");
  CHECK(check(m, "i64", 9007199254740993LL) == "");  // exact beyond 2^53
  CHECK(check(m, "i64", 9007199254740994LL).find("above the maximum") != std::string::npos);
  CHECK(check(m, "i64", json(18446744073709551615ULL)).find("does not fit in int64") !=
        std::string::npos);
}

TEST_CASE("integer bounds written as JSON integers are exact, also beyond 2^53") {
  ThingModel m;
  std::string error;
  REQUIRE_MESSAGE(m.load(R"({"properties":[{"identifier":"n","dataType":{"type":"int64",
      "specs":{"min":-5,"max":9007199254740993}}}]})",
                         &error),
                  error);
  // Through a double the maximum would round to 2^53 and refuse the last value allowed.
  CHECK(check(m, "n", 9007199254740993LL) == "");
  CHECK(check(m, "n", 9007199254740994LL).find("above the maximum 9007199254740993") !=
        std::string::npos);
  CHECK(check(m, "n", -5) == "");
  CHECK(check(m, "n", -6).find("below the minimum -5") != std::string::npos);
}

TEST_CASE("float and double: numbers within specs; float's own range") {
  const ThingModel m = model();
  CHECK(check(m, "f", -55) == "");
  CHECK(check(m, "f", 125.0) == "");
  CHECK(check(m, "f", 125.01).find("above the maximum") != std::string::npos);
  CHECK(check(m, "f", true).find("expected a number") != std::string::npos);
  CHECK(check(m, "d", 0.5) == "");
  CHECK(check(m, "d", -0.001).find("below the minimum") != std::string::npos);
  TypeSpec f;
  f.type = DataType::kFloat;
  CHECK(ThingModel::check_value(f, json(1e39), "x").find("out of range for float") !=
        std::string::npos);
}

TEST_CASE("bool, enum, string, date, bitMap") {
  const ThingModel m = model();
  CHECK(check(m, "b", true) == "");
  CHECK(check(m, "b", 1).find("expected true or false") != std::string::npos);
  CHECK(check(m, "e", 2) == "");
  CHECK(check(m, "e", 3).find("not one of the enum's values") != std::string::npos);
  CHECK(check(m, "e", "high").find("expected an enum value") != std::string::npos);
  CHECK(check(m, "s", "abcd") == "");
  CHECK(check(m, "s", "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97\xE7\xAC\xA6") ==
        "");  // 4 characters, 12 bytes
  CHECK(check(m, "s", "abcde").find("longer than 4") != std::string::npos);
  CHECK(check(m, "s", 5).find("expected a string") != std::string::npos);
  CHECK(check(m, "t", 1700000000000LL) == "");
  CHECK(check(m, "t", "1700000000000") == "");
  CHECK(check(m, "t", "yesterday").find("expected a date") != std::string::npos);
  CHECK(check(m, "t", -1).find("expected a date") != std::string::npos);
  CHECK(check(m, "bits", 7) == "");
  CHECK(check(m, "bits", 8).find("bits beyond") != std::string::npos);
  CHECK(check(m, "bits", -1).find("expected a bitmap") != std::string::npos);
}

TEST_CASE("array and struct: sizes, element types, members") {
  const ThingModel m = model();
  CHECK(check(m, "arr", json::array({0, 9})) == "");
  CHECK(check(m, "arr", json::array({0, 9, 1})).find("longer than 2") != std::string::npos);
  CHECK(check(m, "arr", json::array({10})).find("arr[0]") != std::string::npos);
  CHECK(check(m, "arr", 1).find("expected an array") != std::string::npos);
  CHECK(check(m, "st", {{"x", 1.5}, {"y", 1}}) == "");
  CHECK(check(m, "st", {{"x", 1.5}}).find("missing 'y'") != std::string::npos);
  CHECK(check(m, "st", {{"x", 1.5}, {"y", 1}, {"z", 0}}).find("unknown identifier 'z'") !=
        std::string::npos);
  CHECK(check(m, "st", {{"x", 1.5}, {"y", 2}}).find("st.y") != std::string::npos);
  CHECK(check(m, "$OneNET_LBS", json::array({{{"lon", 116.3}}})) == "");
}

TEST_CASE("requests and commands in their section 4 shapes") {
  const ThingModel m = model();
  // property/post: {"id": {"value": v, "time": ms}}
  CHECK(m.check_property_post({{"f", {{"value", 21.5}, {"time", 1700000000000LL}}}}) == "");
  CHECK(m.check_property_post({{"f", 21.5}}).find("expected {\"value\"") != std::string::npos);
  CHECK(m.check_property_post({{"f", {{"value", 1}, {"time", "now"}}}}).find("milliseconds") !=
        std::string::npos);
  CHECK(m.check_property_post({{"nope", {{"value", 1}}}}) == "unknown property 'nope'");
  // property/set: plain values, writable ones only
  CHECK(m.check_property_set({{"i32", 3}, {"b", false}}) == "");
  CHECK(m.check_property_set({{"f", 3.0}}).find("read-only") != std::string::npos);
  CHECK(m.check_property_set(json::object()).find("expected an object") != std::string::npos);
  // property/get: a list of identifiers
  CHECK(m.check_property_get(json::array({"i32", "f"})) == "");
  CHECK(m.check_property_get(json::array({"i32", 5})).find("strings") != std::string::npos);
  // event/post: {"eventId": {"value": {outputs}}}
  CHECK(m.check_event_post({{"alarm", {{"value", {{"level", 2}}}, {"time", 1700000000000LL}}}}) ==
        "");
  CHECK(m.check_event_post({{"alarm", {{"value", {{"level", 4}}}}}}).find("above the maximum") !=
        std::string::npos);
  CHECK(m.check_event_post({{"quake", {{"value", json::object()}}}}) == "unknown event 'quake'");
  // services: input and output
  CHECK(m.check_service_input("reboot", {{"delay", 60}}) == "");
  CHECK(m.check_service_input("reboot", {{"delay", 61}}).find("above the maximum") !=
        std::string::npos);
  CHECK(m.check_service_input("halt", json::object()) == "unknown service 'halt'");
  CHECK(m.check_service_output("reboot", {{"ok", true}}) == "");
  CHECK(m.check_service_output("reboot", {{"ok", "yes"}}).find("expected true or false") !=
        std::string::npos);
}

TEST_CASE("fields, events and services that cannot be read are refused, each with its reason") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"events":[{"identifier":"e","outputData":{"code":1}}]})",
       "event e: expected a list of fields"},
      {R"({"events":[{"identifier":"e","outputData":[{"dataType":{"type":"int32"}}]}]})",
       "event e: a field has no identifier"},
      {R"({"services":[{"identifier":"s","inputData":[{"identifier":"d"}]}]})",
       "service s.d: missing dataType"},
      {R"({"events":[{"outputData":[]}]})", "thing model: an event lacks an identifier"},
      {R"({"services":[{"callType":"sync"}]})", "thing model: a service lacks an identifier"},
  };
  for (const auto& entry : cases) {
    CAPTURE(entry.first);
    ThingModel m;
    std::string error;
    CHECK_FALSE(m.load(entry.first, &error));
    CHECK(error == entry.second);
  }
}
