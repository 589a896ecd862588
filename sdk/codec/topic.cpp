#include "onenet/codec/topic.hpp"

#include <cstdint>

namespace onenet::codec {

Status check_utf8(std::string_view text) {
  if (text.size() > 65535) return Status::kCodecStringTooLong;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const uint8_t* const end = p + text.size();
  while (p < end) {
    const uint8_t lead = *p++;
    if (lead - 1u < 0x7Fu) continue;              // ASCII other than U+0000: the common case
    if (lead == 0) return Status::kCodecBadUtf8;  // [MQTT-1.5.3-2]
    // RFC 3629: lead bytes C2..F4; the sequence length and the smallest allowed code point
    // follow from the lead, which rules out overlong forms and values above U+10FFFF.
    uint32_t extra;
    uint32_t code_point;
    uint32_t minimum;
    if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1, code_point = lead & 0x1F, minimum = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2, code_point = lead & 0x0F, minimum = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3, code_point = lead & 0x07, minimum = 0x10000;
    } else {
      return Status::kCodecBadUtf8;
    }
    if (static_cast<size_t>(end - p) < extra) return Status::kCodecBadUtf8;
    for (; extra > 0; --extra) {
      if ((*p & 0xC0) != 0x80) return Status::kCodecBadUtf8;
      code_point = code_point << 6 | (*p++ & 0x3F);
    }
    // Surrogates are not characters [MQTT-1.5.3-1].
    if (code_point < minimum || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
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
        return t == topic.size() && filter.substr(f) == "/#";
      }
      ++f;
      ++t;
    }
  }
  return t == topic.size();
}

}  // namespace onenet::codec
