// samples/mcu-device's property/set reader: what the MCU sample takes, what it refuses and why,
// and that no input (cut short, nested, escaped) makes it read past the text or accept garbage.
#include <doctest/doctest.h>

#include <string>

#include "mcu_device.hpp"

using mcu_sample::parse_interval_set;

namespace {

struct Parsed {
  mcu_sample::IntervalSet set;
  std::string id;
};

Parsed parse(const std::string& payload, size_t id_capacity = 24) {
  char id[64];
  Parsed parsed;
  parsed.set = parse_interval_set(payload, id, id_capacity);
  parsed.id = id;
  return parsed;
}

constexpr const char* kOutOfRange = "interval: expected an integer from 1 to 3600";

}  // namespace

TEST_CASE("mcu sample: a property/set of interval is taken with its id") {
  Parsed p = parse(R"({"id":"7","version":"1.0","params":{"interval":30}})");
  CHECK(p.set.ok);
  CHECK(p.set.seconds == 30);
  CHECK(p.id == "7");
  p = parse(" {\n \"params\" : { \"interval\" : 3600 } ,\t\"id\" : \"123456\" } ");
  CHECK(p.set.ok);
  CHECK(p.set.seconds == 3600);
  CHECK(p.id == "123456");
  // Other members are skipped whole, brackets and quotes inside strings included.
  p = parse(R"({"x":{"s":"}{\"]","a":[1,{"b":[]}]},"id":"9","params":{"interval":1}})");
  CHECK(p.set.ok);
  CHECK(p.set.seconds == 1);
  CHECK(p.id == "9");
}

TEST_CASE("mcu sample: values and members it cannot take are refused with the reason") {
  for (const char* value : {"0", "3601", "-1", "2.5", "1e2", "\"5\"", "true", "null", "{}", "[]",
                            "1234567890", "0x10"}) {
    CAPTURE(value);
    const Parsed p = parse(std::string(R"({"id":"1","params":{"interval":)") + value + "}}");
    CHECK_FALSE(p.set.ok);
    CHECK(std::string(p.set.problem) == kOutOfRange);
    CHECK(p.id == "1");  // a refusal is still answered
  }
  Parsed p = parse(R"({"id":"1","params":{"interval":5,"temperature":3}})");
  CHECK_FALSE(p.set.ok);
  CHECK(std::string(p.set.problem) == "only interval can be set");
  p = parse(R"({"id":"1","params":{}})");
  CHECK(std::string(p.set.problem) == "params: nothing to set");
  for (const char* params : {R"("params":[1])", R"("params":"x")", R"("other":1)"}) {
    CAPTURE(params);
    p = parse(std::string(R"({"id":"1",)") + params + "}");
    CHECK_FALSE(p.set.ok);
    CHECK(std::string(p.set.problem) == "params: expected an object");
  }
}

TEST_CASE("mcu sample: an id it cannot copy whole is left empty (the set goes unanswered)") {
  CHECK(parse(R"({"id":"a\"b","params":{"interval":5}})").id.empty());      // escaped
  CHECK(parse(R"({"id":12,"params":{"interval":5}})").id.empty());          // not a string
  CHECK(parse(R"({"id":"12345","params":{"interval":5}})", 5).id.empty());  // no room for NUL
  CHECK(parse(R"({"id":"1234","params":{"interval":5}})", 5).id == "1234");
}

TEST_CASE("mcu sample: malformed text is refused, cut short anywhere") {
  for (const char* text : {"", "garbage", "[]", "{", "{\"id\"", "{\"id\":}", "{,}", "{\"a\":1,}",
                           "{\"params\":{\"interval\":5}", "{\"params\":{\"interval\" 5}}"}) {
    CAPTURE(text);
    CHECK_FALSE(parse(text).set.ok);
  }
  // Every proper prefix of a good request is refused; only the whole text is taken.
  const std::string whole = R"({"id":"42","x":["]",{"y":"\\"}],"params":{"interval":60}})";
  for (size_t length = 0; length < whole.size(); ++length) {
    CAPTURE(whole.substr(0, length));
    CHECK_FALSE(parse(whole.substr(0, length)).set.ok);
  }
  CHECK(parse(whole).set.ok);
}

namespace {

struct Desired {
  mcu_sample::DesiredInterval interval;
  std::string id;
};

Desired desired(const std::string& payload) {
  char id[24];
  Desired d;
  d.interval = mcu_sample::parse_desired_interval(payload, id, sizeof id);
  d.id = id;
  return d;
}

constexpr const char* kDesiredShape = R"(interval: expected {"value": 1..3600, "version": n})";

}  // namespace

TEST_CASE("mcu sample: a desired/get reply's interval is taken with its version and id") {
  Desired d = desired(
      R"({"id":"5","code":200,"msg":"success","data":{"interval":{"value":30,"version":2}}})");
  CHECK(d.interval.outcome == mcu_sample::DesiredInterval::kTaken);
  CHECK(d.interval.seconds == 30);
  CHECK(d.interval.version == 2);
  CHECK(d.id == "5");
  // Other members, of the reply and of data, are passed over whole.
  d = desired(R"({"data":{"label":{"value":"}{","version":1},"interval":{"version":7,"value":3600,
                  "x":[1]}},"code":200,"id":"6"})");
  CHECK(d.interval.outcome == mcu_sample::DesiredInterval::kTaken);
  CHECK(d.interval.seconds == 3600);
  CHECK(d.interval.version == 7);
  CHECK(d.id == "6");
  // None held.
  for (const char* data : {"{}", R"({"label":{"value":"a","version":1}})"}) {
    CAPTURE(data);
    d = desired(std::string(R"({"id":"7","code":200,"data":)") + data + "}");
    CHECK(d.interval.outcome == mcu_sample::DesiredInterval::kNone);
    CHECK(d.id == "7");
  }
}

TEST_CASE("mcu sample: desired/get replies it cannot take are refused with the reason") {
  const auto refused = [](const std::string& payload, const std::string& problem) {
    CAPTURE(payload);
    const Desired d = desired(payload);
    CHECK(d.interval.outcome == mcu_sample::DesiredInterval::kRefused);
    CHECK(std::string(d.interval.problem) == problem);
  };
  for (const char* code : {R"("code":400)", R"("code":"200")", R"("msg":"x")",
                           R"("code":200,"code":100)", R"("code":-200)"}) {
    refused(std::string(R"({"id":"1",)") + code + R"(,"data":{}})", "the reply's code is not 200");
  }
  refused(R"({"id":"1","code":200})", "data: expected an object");
  refused(R"({"id":"1","code":200,"data":[]})", "data: expected an object");
  for (const char* entry :
       {"5", "[]", R"({"value":0,"version":1})", R"({"value":3601,"version":1})",
        R"({"value":2.5,"version":1})", R"({"value":"5","version":1})", R"({"value":5})",
        R"({"value":5,"version":0})", R"({"value":5,"version":"1"})", R"({"version":1})",
        R"({"value":5,"version":-1})", R"({"value":5,"version":4294967296})"}) {
    refused(std::string(R"({"id":"1","code":200,"data":{"interval":)") + entry + "}}",
            kDesiredShape);
  }
  // Cut short anywhere: refused, never taken.
  const std::string whole = R"({"id":"9","code":200,"data":{"interval":{"value":60,"version":3}}})";
  for (size_t length = 0; length < whole.size(); ++length) {
    CAPTURE(whole.substr(0, length));
    CHECK(desired(whole.substr(0, length)).interval.outcome ==
          mcu_sample::DesiredInterval::kRefused);
  }
  CHECK(desired(whole).interval.outcome == mcu_sample::DesiredInterval::kTaken);
}
