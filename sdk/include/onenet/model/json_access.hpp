// Reading JSON that came from outside (the network, a file, a caller) and writing JSON text,
// without ever aborting.
//
// nlohmann/json is built here with JSON_NOEXCEPTION (sdk/ has no exceptions), so where it would
// throw it calls abort(): a typed value() whose member has another type, value() or a const
// operator[] on something that is not an object, and dump() of a string that is not UTF-8.
// One malformed message could then end the process. Input goes through these helpers instead,
// and text that may hold a caller's strings through to_text(). None of them blocks; they
// allocate only what they return (is_utf8 a small work list, to walk a value without recursion).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace onenet::model {

/// Deepest nesting of objects and arrays parse_json() accepts. OneJSON nests a few levels (a
/// struct in an array in a property); copying, comparing and writing a value recurse once per
/// level, so text from outside must not choose the depth.
constexpr size_t kMaxJsonDepth = 64;

/// json::parse(text, nullptr, false), refusing (a discarded value) text nested deeper than
/// kMaxJsonDepth as well as malformed text. Use it for every text from outside.
nlohmann::json parse_json(std::string_view text);

/// The member `key` of `object`, or null when `object` is not an object or has no such member.
/// The pointer is into `object`: valid while it is unchanged.
const nlohmann::json* member(const nlohmann::json& object, const char* key);

/// The member `key` when it is a string; otherwise `fallback`.
std::string string_member(const nlohmann::json& object, const char* key,
                          const std::string& fallback = {});

/// The member `key` when it is an integer that fits int64_t; otherwise `fallback`.
int64_t integer_member(const nlohmann::json& object, const char* key, int64_t fallback);

/// A copy of the member `key` of any type; `fallback` when there is none.
nlohmann::json member_or(const nlohmann::json& object, const char* key,
                         const nlohmann::json& fallback);

/// True when every string in `value`, object keys included, is valid UTF-8 (RFC 3629), as JSON
/// text requires. Parsed JSON always is; a caller's strings may not be.
bool is_utf8(const nlohmann::json& value);

/// Characters, not bytes, of UTF-8 text: what a length limit written for people counts (a TSL
/// string's length, OneNET's description limit).
size_t utf8_characters(std::string_view text);

/// JSON text of `value` (compact). Bytes of a string that are not UTF-8 become U+FFFD rather
/// than abort: for replies and logs, which must go out whatever a handler put in them. Check
/// is_utf8() first where a caller should be told instead.
std::string to_text(const nlohmann::json& value);

}  // namespace onenet::model
