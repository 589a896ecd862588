#include "onenet/model/json_access.hpp"

#include <vector>

namespace onenet::model {
namespace {

using nlohmann::json;

// RFC 3629 well-formedness. Not codec::check_utf8: MQTT strings refuse U+0000 and stop at
// 65,535 bytes [MQTT-1.5.3], where a JSON string may hold both.
bool utf8_string(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const end = p + text.size();
  while (p < end) {
    uint32_t code_point = *p++;
    if (code_point < 0x80) continue;
    if (code_point < 0xC2 || code_point > 0xF4) return false;  // continuation, overlong or > F4
    const int extra = code_point >= 0xF0 ? 3 : code_point >= 0xE0 ? 2 : 1;
    code_point &= 0x3Fu >> extra;
    if (end - p < extra) return false;
    for (int n = 0; n < extra; ++n, ++p) {
      if ((*p & 0xC0) != 0x80) return false;
      code_point = code_point << 6 | (*p & 0x3Fu);
    }
    const uint32_t smallest = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (code_point < smallest || code_point > 0x10FFFF || (code_point >> 11) == 0x1B) {
      return false;  // overlong, beyond Unicode, or a surrogate
    }
  }
  return true;
}

// Nesting depth of JSON text: brackets outside strings. Malformed text is left to the parser.
size_t nesting_depth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

json parse_json(std::string_view text) {
  if (nesting_depth(text) > kMaxJsonDepth) return json(json::value_t::discarded);
  return json::parse(text.begin(), text.end(), nullptr, false);
}

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string string_member(const json& object, const char* key, const std::string& fallback) {
  const json* v = member(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}

int64_t integer_member(const json& object, const char* key, int64_t fallback) {
  const json* v = member(object, key);
  if (v == nullptr || !v->is_number_integer()) return fallback;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return fallback;
  }
  return v->get<int64_t>();
}

json member_or(const json& object, const char* key, const json& fallback) {
  const json* v = member(object, key);
  return v != nullptr ? *v : fallback;
}

size_t utf8_characters(std::string_view text) {
  size_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not 10xxxxxx
  return n;
}

bool is_utf8(const json& value) {
  // Iterative: a caller's value may nest deeper than the stack should.
  std::vector<const json*> pending{&value};
  while (!pending.empty()) {
    const json& v = *pending.back();
    pending.pop_back();
    if (v.is_string()) {
      if (!utf8_string(v.get_ref<const std::string&>())) return false;
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!utf8_string(it.key())) return false;
        pending.push_back(&it.value());
      }
    } else if (v.is_array()) {
      for (const json& item : v) pending.push_back(&item);
    }
  }
  return true;
}

std::string to_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace onenet::model
