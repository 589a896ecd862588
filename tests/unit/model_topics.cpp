// The OneJSON topic table: every operation round-trips through make_topic and parse_topic.
#include <doctest/doctest.h>

#include <string>

#include "onenet/model/topics.hpp"

using onenet::model::Operation;

namespace {

std::string topic(Operation op, bool reply = false, std::string_view service = {}) {
  char out[256];
  const auto n = onenet::model::make_topic(out, sizeof out, "Pid", "dev", op, reply, service);
  REQUIRE(n.ok());
  return std::string(out, n.value());
}

}  // namespace

TEST_CASE("topics match onenet-protocol.md section 3, replies included") {
  CHECK(topic(Operation::kPropertyPost) == "$sys/Pid/dev/thing/property/post");
  CHECK(topic(Operation::kPropertyPost, true) == "$sys/Pid/dev/thing/property/post/reply");
  CHECK(topic(Operation::kPropertySet) == "$sys/Pid/dev/thing/property/set");
  CHECK(topic(Operation::kPropertySet, true) == "$sys/Pid/dev/thing/property/set_reply");
  CHECK(topic(Operation::kPropertyGet, true) == "$sys/Pid/dev/thing/property/get_reply");
  CHECK(topic(Operation::kDesiredGet, true) == "$sys/Pid/dev/thing/property/desired/get/reply");
  CHECK(topic(Operation::kDesiredDelete) == "$sys/Pid/dev/thing/property/desired/delete");
  CHECK(topic(Operation::kEventPost, true) == "$sys/Pid/dev/thing/event/post/reply");
  CHECK(topic(Operation::kServiceInvoke, false, "reboot") ==
        "$sys/Pid/dev/thing/service/reboot/invoke");
  CHECK(topic(Operation::kServiceInvoke, true, "reboot") ==
        "$sys/Pid/dev/thing/service/reboot/invoke_reply");
  CHECK(topic(Operation::kPackPost) == "$sys/Pid/dev/thing/pack/post");
  CHECK(topic(Operation::kHistoryPost, true) == "$sys/Pid/dev/thing/history/post/reply");
  CHECK(topic(Operation::kSubLogin) == "$sys/Pid/dev/thing/sub/login");
  CHECK(topic(Operation::kTopoAdd, true) == "$sys/Pid/dev/thing/sub/topo/add/reply");
  CHECK(topic(Operation::kTopoGetResult) == "$sys/Pid/dev/thing/sub/topo/get/result");
  CHECK(topic(Operation::kTopoChange, true) == "$sys/Pid/dev/thing/sub/topo/change_reply");
  CHECK(topic(Operation::kSubServiceInvoke, true) == "$sys/Pid/dev/thing/sub/service/invoke_reply");
}

TEST_CASE("parse_topic recognises every operation and its reply") {
  for (int i = 0; i <= static_cast<int>(Operation::kSubServiceInvoke); ++i) {
    const auto op = static_cast<Operation>(i);
    for (const bool reply : {false, true}) {
      if (op == Operation::kTopoGetResult && reply) continue;
      const std::string t = topic(op, reply, "svc");
      CAPTURE(t);
      onenet::model::TopicParts parts;
      REQUIRE(onenet::model::parse_topic(t, &parts));
      CHECK(parts.operation == op);
      CHECK(parts.is_reply == reply);
      CHECK(parts.product_id == "Pid");
      CHECK(parts.device_name == "dev");
      if (op == Operation::kServiceInvoke) CHECK(parts.service_id == "svc");
    }
  }
}

TEST_CASE("parse_topic refuses what is not a OneJSON topic") {
  onenet::model::TopicParts parts;
  for (const char* t :
       {"", "$sys/Pid/dev", "$sys/Pid/dev/thing", "$sys/Pid/dev/thing/property/post/x",
        "$sys/Pid/dev/thing/property/set/reply", "$sys/Pid/dev/thing/property/post_reply",
        "$sys/Pid/dev/dp/post/json", "sys/Pid/dev/thing/property/post",
        "$sys//dev/thing/property/post", "$sys/Pid/dev/thing/service//invoke",
        "$sys/Pid/dev/thing/service/x/call", "$sys/Pid/dev/ota/inform"}) {
    CAPTURE(t);
    CHECK_FALSE(onenet::model::parse_topic(t, &parts));
  }
}

TEST_CASE("make_topic checks its buffer and arguments") {
  char small[8];
  CHECK(
      onenet::model::make_topic(small, sizeof small, "P", "d", Operation::kPropertyPost).status() ==
      onenet::Status::kBufferTooSmall);
  char out[64];
  CHECK(onenet::model::make_topic(out, sizeof out, "", "d", Operation::kPropertyPost).status() ==
        onenet::Status::kInvalidArgument);
  CHECK(onenet::model::make_topic(out, sizeof out, "P", "d", Operation::kServiceInvoke).status() ==
        onenet::Status::kInvalidArgument);
  const auto n = onenet::model::make_thing_filter(out, sizeof out, "P", "d");
  REQUIRE(n.ok());
  CHECK(std::string(out, n.value()) == "$sys/P/d/thing/#");
}

namespace {

using onenet::model::StreamTopic;

std::string stream_topic(StreamTopic kind, std::string_view command_id = {}) {
  char out[256];
  const auto n = onenet::model::make_stream_topic(out, sizeof out, "Pid", "dev", kind, command_id);
  REQUIRE(n.ok());
  return std::string(out, n.value());
}

}  // namespace

TEST_CASE("data-stream topics match onenet-protocol.md sections 3 and 4.6") {
  CHECK(stream_topic(StreamTopic::kPointsPost) == "$sys/Pid/dev/dp/post/json");
  CHECK(stream_topic(StreamTopic::kPointsAccepted) == "$sys/Pid/dev/dp/post/json/accepted");
  CHECK(stream_topic(StreamTopic::kPointsRejected) == "$sys/Pid/dev/dp/post/json/rejected");
  CHECK(stream_topic(StreamTopic::kCommandRequest, "c-1") == "$sys/Pid/dev/cmd/request/c-1");
  CHECK(stream_topic(StreamTopic::kCommandResponse, "c-1") == "$sys/Pid/dev/cmd/response/c-1");
  CHECK(stream_topic(StreamTopic::kCommandAccepted, "c-1") ==
        "$sys/Pid/dev/cmd/response/c-1/accepted");
  CHECK(stream_topic(StreamTopic::kCommandRejected, "c-1") ==
        "$sys/Pid/dev/cmd/response/c-1/rejected");

  char out[64];
  auto n = onenet::model::make_stream_filter(out, sizeof out, "Pid", "dev", false);
  REQUIRE(n.ok());
  CHECK(std::string(out, n.value()) == "$sys/Pid/dev/dp/post/json/+");
  n = onenet::model::make_stream_filter(out, sizeof out, "Pid", "dev", true);
  REQUIRE(n.ok());
  CHECK(std::string(out, n.value()) == "$sys/Pid/dev/cmd/#");
}

TEST_CASE("device image topics match onenet-protocol.md section 3") {
  CHECK(stream_topic(StreamTopic::kImageUpdate) == "$sys/Pid/dev/image/update");
  CHECK(stream_topic(StreamTopic::kImageUpdateAccepted) == "$sys/Pid/dev/image/update/accepted");
  CHECK(stream_topic(StreamTopic::kImageUpdateRejected) == "$sys/Pid/dev/image/update/rejected");
  CHECK(stream_topic(StreamTopic::kImageUpdateDelta) == "$sys/Pid/dev/image/update/delta");
  CHECK(stream_topic(StreamTopic::kImageGet) == "$sys/Pid/dev/image/get");
  CHECK(stream_topic(StreamTopic::kImageGetAccepted) == "$sys/Pid/dev/image/get/accepted");
  CHECK(stream_topic(StreamTopic::kImageGetRejected) == "$sys/Pid/dev/image/get/rejected");
  // A command id is no part of them: one given is not written.
  CHECK(stream_topic(StreamTopic::kImageGet, "c-1") == "$sys/Pid/dev/image/get");

  char out[64];
  const auto n = onenet::model::make_image_filter(out, sizeof out, "Pid", "dev");
  REQUIRE(n.ok());
  CHECK(std::string(out, n.value()) == "$sys/Pid/dev/image/#");
  CHECK(onenet::model::make_image_filter(out, sizeof out, "", "dev").status() ==
        onenet::Status::kInvalidArgument);
  // "$sys/Pid/dev/image/#" is 20 characters: 21 bytes with the NUL.
  CHECK(onenet::model::make_image_filter(out, 20, "Pid", "dev").status() ==
        onenet::Status::kBufferTooSmall);
}

TEST_CASE("parse_stream_topic recognises every data-stream topic and its command id") {
  for (const StreamTopic kind :
       {StreamTopic::kPointsPost, StreamTopic::kPointsAccepted, StreamTopic::kPointsRejected,
        StreamTopic::kCommandRequest, StreamTopic::kCommandResponse, StreamTopic::kCommandAccepted,
        StreamTopic::kCommandRejected, StreamTopic::kImageUpdate, StreamTopic::kImageUpdateAccepted,
        StreamTopic::kImageUpdateRejected, StreamTopic::kImageUpdateDelta, StreamTopic::kImageGet,
        StreamTopic::kImageGetAccepted, StreamTopic::kImageGetRejected}) {
    const std::string text = stream_topic(kind, "5bdaf1a9-3854");
    onenet::model::StreamTopicParts parts;
    INFO(text);
    REQUIRE(onenet::model::parse_stream_topic(text, &parts));
    CHECK(parts.kind == kind);
    CHECK(parts.product_id == "Pid");
    CHECK(parts.device_name == "dev");
    const bool command =
        kind == StreamTopic::kCommandRequest || kind == StreamTopic::kCommandResponse ||
        kind == StreamTopic::kCommandAccepted || kind == StreamTopic::kCommandRejected;
    CHECK(parts.command_id == (command ? "5bdaf1a9-3854" : ""));
  }
}

TEST_CASE("parse_stream_topic refuses what is not a data-stream topic") {
  onenet::model::StreamTopicParts parts;
  for (const char* text : {"$sys/Pid/dev/dp/post/json/other",
                           "$sys/Pid/dev/dp/post/jsonx",
                           "$sys/Pid/dev/dp/post",
                           "$sys/Pid/dev/cmd/request/",
                           "$sys/Pid/dev/cmd/request/a/b",
                           "$sys/Pid/dev/cmd/request/a/accepted",
                           "$sys/Pid/dev/cmd/response/a/other",
                           "$sys/Pid/dev/cmd/response//accepted",
                           "$sys/Pid/dev/thing/property/post",
                           "$sys/Pid/dp/post/json",
                           "sys/Pid/dev/dp/post/json",
                           "$sys//dev/dp/post/json",
                           "$sys/Pid/dev/image",
                           "$sys/Pid/dev/image/",
                           "$sys/Pid/dev/image/update/",
                           "$sys/Pid/dev/image/updatex",
                           "$sys/Pid/dev/image/get/other",
                           "$sys/Pid/dev/image/delta",
                           "$sys/Pid/image/get",
                           ""}) {
    INFO(text);
    CHECK_FALSE(onenet::model::parse_stream_topic(text, &parts));
  }
  // And the OneJSON table does not take data-stream topics.
  onenet::model::TopicParts onejson;
  CHECK_FALSE(onenet::model::parse_topic("$sys/Pid/dev/dp/post/json", &onejson));
}

TEST_CASE("make_stream_topic checks its buffer and the command id") {
  char out[64];
  using onenet::Status;
  using onenet::model::make_stream_topic;
  CHECK(make_stream_topic(out, sizeof out, "Pid", "dev", StreamTopic::kCommandResponse).status() ==
        Status::kInvalidArgument);
  for (const char* bad : {"a/b", "a+", "#", ""}) {
    INFO(bad);
    CHECK(make_stream_topic(out, sizeof out, "Pid", "dev", StreamTopic::kCommandResponse, bad)
              .status() == Status::kInvalidArgument);
  }
  CHECK(make_stream_topic(out, sizeof out, "", "dev", StreamTopic::kPointsPost).status() ==
        Status::kInvalidArgument);
  // "$sys/Pid/dev/dp/post/json" is 25 characters: 26 bytes with the NUL.
  CHECK(make_stream_topic(out, 25, "Pid", "dev", StreamTopic::kPointsPost).status() ==
        Status::kBufferTooSmall);
  const auto fits = make_stream_topic(out, 26, "Pid", "dev", StreamTopic::kPointsPost);
  REQUIRE(fits.ok());
  CHECK(fits.value() == 25);
}
