#include "onenet/codec/topic.hpp"

#include <cstdint>

namespace onenet::codec {

Status check_utf8(std::string_view text) {
  if (text.size() > 65535) return Status::kCodecStringTooLong;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const uint8_t* const end = p + text.size();
  while (p < end) {
    uint32_t code_point = *p++;
    if (code_point - 1u < 0x7Fu) continue;  // ASCII other than U+0000: the common case
    // RFC 3629: lead bytes C2..F4 (this also refuses U+0000 [MQTT-1.5.3-2]); the lead gives the
    // number of continuation bytes and the bits it carries.
    if (code_point < 0xC2 || code_point > 0xF4) return Status::kCodecBadUtf8;
    const uint32_t extra = code_point >= 0xF0 ? 3 : code_point >= 0xE0 ? 2 : 1;
    code_point &= 0x3Fu >> extra;
    if (static_cast<size_t>(end - p) < extra) return Status::kCodecBadUtf8;
    for (uint32_t n = extra; n > 0; --n) {
      if ((*p & 0xC0) != 0x80) return Status::kCodecBadUtf8;
      code_point = code_point << 6 | (*p++ & 0x3F);
    }
    // The smallest code point each length may carry (0x80, 0x800, 0x10000; 2-byte forms are
    // already minimal from C2 up) rules out overlong forms; nothing above U+10FFFF; no
    // surrogates D800..DFFF [MQTT-1.5.3-1].
    if (code_point < (0x20u << (5 * extra - 4)) || code_point > 0x10FFFF ||
        (code_point >> 11) == 0x1B) {
      return Status::kCodecBadUtf8;
    }
  }
  return Status::kOk;
}

Status check_topic_name(std::string_view topic) {
  if (topic.empty()) return Status::kCodecBadTopicName;
  for (const char c : topic) {
    if (c == '+' || c == '#') return Status::kCodecBadTopicName;
  }
  return check_utf8(topic);
}

Status check_topic_filter(std::string_view filter) {
  if (filter.empty()) return Status::kCodecBadTopicFilter;
  for (size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c != '+' && c != '#') continue;
    const bool level_starts = i == 0 || filter[i - 1] == '/';
    const bool level_ends = i + 1 == filter.size() || filter[i + 1] == '/';
    if (!level_starts || !level_ends) return Status::kCodecBadTopicFilter;
    if (c == '#' && i + 1 != filter.size()) return Status::kCodecBadTopicFilter;
  }
  return check_utf8(filter);
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && !filter.empty() &&
      (filter[0] == '+' || filter[0] == '#')) {
    return false;
  }
  size_t f = 0;
  size_t t = 0;
  while (f < filter.size()) {
    if (filter[f] == '#') return true;  // matches the parent level and everything below it
    if (filter[f] == '+') {
      while (t < topic.size() && topic[t] != '/') ++t;
      ++f;
    } else {
      if (t >= topic.size() || filter[f] != topic[t]) {
        // "a/#" matches "a": the filter may end in "/#" right where the topic ends.
        return t == topic.size() && filter.size() - f == 2 && filter[f] == '/' &&
               filter[f + 1] == '#';
      }
      ++f;
      ++t;
    }
  }
  return t == topic.size();
}

}  // namespace onenet::codec
