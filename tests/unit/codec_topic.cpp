// UTF-8 rules, topic names and filters, and matching [MQTT-1.5.3], [MQTT-4.7].
#include <doctest/doctest.h>

#include <string>

#include "onenet/codec/topic.hpp"

using onenet::Status;
using onenet::codec::check_topic_filter;
using onenet::codec::check_topic_name;
using onenet::codec::check_utf8;
using onenet::codec::topic_matches;

TEST_CASE("UTF-8: well-formed text of every sequence length is accepted") {
  CHECK(check_utf8("") == Status::kOk);
  CHECK(check_utf8("plain ascii") == Status::kOk);
  CHECK(check_utf8("\xC2\xA9") == Status::kOk);                  // U+00A9, 2 bytes
  CHECK(check_utf8("\xE4\xB8\xAD\xE6\x96\x87") == Status::kOk);  // 中文, 3 bytes each
  CHECK(check_utf8("\xF0\x9F\x98\x80") == Status::kOk);          // U+1F600, 4 bytes
  CHECK(check_utf8("\xEF\xBB\xBF") == Status::kOk);              // U+FEFF is allowed [MQTT-1.5.3-3]
  CHECK(check_utf8("\xF4\x8F\xBF\xBF") == Status::kOk);          // U+10FFFF, the last code point
}

TEST_CASE("UTF-8: every ill-formed case is refused") {
  CHECK(check_utf8(std::string_view("\0", 1)) == Status::kCodecBadUtf8);  // U+0000 [MQTT-1.5.3-2]
  CHECK(check_utf8("\xED\xA0\x80") == Status::kCodecBadUtf8);  // U+D800 surrogate [MQTT-1.5.3-1]
  CHECK(check_utf8("\xED\xBF\xBF") == Status::kCodecBadUtf8);  // U+DFFF surrogate
  CHECK(check_utf8("\xC0\x80") == Status::kCodecBadUtf8);      // overlong U+0000
  CHECK(check_utf8("\xC1\xBF") == Status::kCodecBadUtf8);      // overlong
  CHECK(check_utf8("\xE0\x80\xAF") == Status::kCodecBadUtf8);  // overlong '/'
  CHECK(check_utf8("\xF0\x80\x80\xAF") == Status::kCodecBadUtf8);
  CHECK(check_utf8("\xF4\x90\x80\x80") == Status::kCodecBadUtf8);  // above U+10FFFF
  CHECK(check_utf8("\xF5\x80\x80\x80") == Status::kCodecBadUtf8);
  CHECK(check_utf8("\x80") == Status::kCodecBadUtf8);      // lone continuation
  CHECK(check_utf8("\xC2") == Status::kCodecBadUtf8);      // truncated
  CHECK(check_utf8("\xE4\xB8") == Status::kCodecBadUtf8);  // truncated
  CHECK(check_utf8("\xC2\x41") == Status::kCodecBadUtf8);  // bad continuation
  CHECK(check_utf8("\xFF") == Status::kCodecBadUtf8);
}

TEST_CASE("UTF-8: at most 65,535 bytes") {
  CHECK(check_utf8(std::string(65535, 'a')) == Status::kOk);
  CHECK(check_utf8(std::string(65536, 'a')) == Status::kCodecStringTooLong);
}

TEST_CASE("topic names: non-empty, no wildcards") {
  CHECK(check_topic_name("$sys/pid/dev/thing/property/post") == Status::kOk);
  CHECK(check_topic_name("/") == Status::kOk);
  CHECK(check_topic_name("") == Status::kCodecBadTopicName);
  CHECK(check_topic_name("a/+/b") == Status::kCodecBadTopicName);
  CHECK(check_topic_name("a/#") == Status::kCodecBadTopicName);
  CHECK(check_topic_name("a\xC0") == Status::kCodecBadUtf8);
}

TEST_CASE("topic filters: wildcard placement") {
  for (const char* ok : {"#", "+", "a/#", "a/+/b", "+/+", "/+", "+/", "a//b", "$sys/p/d/thing/#",
                         "sport/tennis/+"}) {
    CAPTURE(ok);
    CHECK(check_topic_filter(ok) == Status::kOk);
  }
  for (const char* bad : {"", "a#", "a/#/b", "#/", "a/b#", "a+", "+a", "a/+b", "##", "++"}) {
    CAPTURE(bad);
    CHECK(check_topic_filter(bad) == Status::kCodecBadTopicFilter);
  }
}

TEST_CASE("matching follows the standard's examples") {
  CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
  CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  CHECK(topic_matches("sport/#", "sport"));
  CHECK(topic_matches("#", "a/b/c"));
  CHECK(topic_matches("sport/tennis/+", "sport/tennis/player1"));
  CHECK_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  CHECK_FALSE(topic_matches("sport/+", "sport"));
  CHECK(topic_matches("sport/+", "sport/"));
  CHECK(topic_matches("+/+", "/finance"));
  CHECK(topic_matches("/+", "/finance"));
  CHECK_FALSE(topic_matches("+", "/finance"));
  CHECK(topic_matches("a/b", "a/b"));
  CHECK_FALSE(topic_matches("a/b", "a/bc"));
  CHECK_FALSE(topic_matches("a/bc", "a/b"));
  CHECK_FALSE(topic_matches("a/b/c", "a/b"));
}

TEST_CASE("a leading wildcard does not match $ topics [MQTT-4.7.2-1]") {
  CHECK_FALSE(topic_matches("#", "$SYS/broker"));
  CHECK_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
  CHECK(topic_matches("$sys/P/D/thing/#", "$sys/P/D/thing/property/set"));
}
