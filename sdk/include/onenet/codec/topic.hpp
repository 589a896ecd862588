// Topic names and filters [MQTT-4.7]. Pure functions.
#pragma once

#include <string_view>

#include "onenet/status.hpp"

namespace onenet::codec {

/// kOk, kCodecBadUtf8 (malformed, surrogate or U+0000 [MQTT-1.5.3-1], [MQTT-1.5.3-2]) or
/// kCodecStringTooLong (over 65,535 bytes).
Status check_utf8(std::string_view text);

/// A PUBLISH topic name: at least one character [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2],
/// valid UTF-8. Returns kOk, kCodecBadTopicName or a check_utf8 status.
Status check_topic_name(std::string_view topic);

/// A topic filter: '#' only last and alone in its level [MQTT-4.7.1-2], '+' alone in its
/// level [MQTT-4.7.1-3]. Returns kOk, kCodecBadTopicFilter or a check_utf8 status.
Status check_topic_filter(std::string_view filter);

/// Whether `topic` (a valid name) matches `filter` (a valid filter). A filter starting with a
/// wildcard does not match a topic starting with '$' [MQTT-4.7.2-1].
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace onenet::codec
