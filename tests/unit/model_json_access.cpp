// model/json_access: reading members of any type and writing text without nlohmann's abort()
// paths (the build has JSON_NOEXCEPTION: a typed value() of the wrong type would end the test).
#include <doctest/doctest.h>

#include "onenet/model/json_access.hpp"

using nlohmann::json;
using onenet::model::integer_member;
using onenet::model::is_utf8;
using onenet::model::member;
using onenet::model::member_or;
using onenet::model::string_member;
using onenet::model::to_text;

TEST_CASE("json_access: members of the wrong type, or of a non-object, give the fallback") {
  const json object = {{"s", "text"}, {"i", -7},        {"u", 18446744073709551615ULL},
                       {"f", 2.5},    {"b", true},      {"n", nullptr},
                       {"a", {1, 2}}, {"o", {{"k", 1}}}};
  CHECK(string_member(object, "s") == "text");
  CHECK(string_member(object, "i", "fallback") == "fallback");
  CHECK(string_member(object, "missing") == "");
  CHECK(integer_member(object, "i", 0) == -7);
  CHECK(integer_member(object, "u", 1) == 1);  // beyond int64_t
  CHECK(integer_member(object, "f", 1) == 1);  // not an integer
  CHECK(integer_member(object, "b", 1) == 1);
  CHECK(integer_member(object, "s", 1) == 1);
  CHECK(member_or(object, "a", json()) == json({1, 2}));
  CHECK(member_or(object, "missing", json("x")) == "x");
  CHECK(member(object, "n") != nullptr);
  CHECK(member(object, "n")->is_null());
  for (const json& not_object : {json(5), json("s"), json::array({1}), json(), json(true)}) {
    CHECK(member(not_object, "s") == nullptr);
    CHECK(string_member(not_object, "s", "f") == "f");
    CHECK(integer_member(not_object, "i", 3) == 3);
    CHECK(member_or(not_object, "a", json(4)) == 4);
  }
}

TEST_CASE("json_access: is_utf8 follows RFC 3629 in every string and key, at any depth") {
  CHECK(is_utf8(json("plain")));
  CHECK(is_utf8(json(std::string("nul \0 inside", 12))));  // JSON may carry U+0000
  CHECK(is_utf8(json("\xC2\x80 \xE0\xA0\x80 \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF")));  // each edge
  CHECK(is_utf8(json(std::string(70000, 'a'))));  // longer than an MQTT string may be
  for (const char* bad :
       {"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3", "\xE2\x82", "\xE2\x28\xA1", "\xFF"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(is_utf8(json(bad)));
    CHECK_FALSE(is_utf8(json{{"k", {1, {{"deep", bad}}}}}));
    CHECK_FALSE(is_utf8(json{{bad, 1}}));
  }
  json nested = "ok";
  for (int i = 0; i < 10000; ++i) {  // deeper than a recursive walk's stack would like
    json outer = json::array();
    outer.push_back(std::move(nested));
    nested = std::move(outer);
  }
  CHECK(is_utf8(nested));
}

TEST_CASE("json_access: to_text writes U+FFFD for bytes that are not UTF-8, and aborts never") {
  CHECK(to_text(json{{"k", "v"}}) == R"({"k":"v"})");
  CHECK(to_text(json("a\xFF"
                     "b")) ==
        "\"a\xEF\xBF\xBD"
        "b\"");
  CHECK(to_text(json{{"\xC0", 1}}) == "{\"\xEF\xBF\xBD\":1}");
  CHECK(to_text(json("caf\xC3\xA9")) == "\"caf\xC3\xA9\"");  // valid text unchanged
}

TEST_CASE("json_access: parse_json refuses text nested deeper than kMaxJsonDepth") {
  using onenet::model::kMaxJsonDepth;
  using onenet::model::parse_json;
  auto nested = [](size_t depth, const std::string& inner) {
    return std::string(depth, '[') + inner + std::string(depth, ']');
  };
  CHECK(parse_json(nested(kMaxJsonDepth, "1")).is_array());
  CHECK(parse_json(nested(kMaxJsonDepth + 1, "1")).is_discarded());
  CHECK(parse_json(nested(200000, "")).is_discarded());  // would overflow a copy's recursion
  // Brackets inside strings, escaped quotes included, are text, not nesting.
  const std::string text = R"({"a":")" + std::string(100, '[') + R"(\"{{{","b":[{"c":1}]})";
  const json parsed = parse_json(text);
  REQUIRE(parsed.is_object());
  CHECK(parsed["b"][0]["c"] == 1);
  CHECK(parse_json("{\"a\":").is_discarded());  // malformed text, as json::parse
  CHECK(parse_json("").is_discarded());
}
