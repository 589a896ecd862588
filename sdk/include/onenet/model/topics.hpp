// The OneJSON topic table (onenet-protocol.md section 3): every operation, its direction, and
// its topic under $sys/{product}/{device}/thing/. One table, used both to build topics and to
// recognise them. Below it, the data-stream protocol's topics (dp/post/json, cmd/...). Heap-free:
// builds into caller buffers and parses into views.
#pragma once

#include <cstddef>
#include <string_view>

#include "onenet/status.hpp"

namespace onenet::model {

enum class Operation : uint8_t {
  kPropertyPost,      ///< up   property/post              reply down .../reply
  kPropertySet,       ///< down property/set               reply up   ..._reply
  kPropertyGet,       ///< down property/get               reply up   ..._reply
  kDesiredGet,        ///< up   property/desired/get       reply down .../reply
  kDesiredDelete,     ///< up   property/desired/delete    reply down .../reply
  kEventPost,         ///< up   event/post                 reply down .../reply
  kServiceInvoke,     ///< down service/{id}/invoke        reply up   ..._reply
  kPackPost,          ///< up   pack/post                  reply down .../reply
  kHistoryPost,       ///< up   history/post               reply down .../reply
  kSubLogin,          ///< up   sub/login                  reply down .../reply
  kSubLogout,         ///< up   sub/logout                 reply down .../reply
  kTopoAdd,           ///< up   sub/topo/add               reply down .../reply
  kTopoDelete,        ///< up   sub/topo/delete            reply down .../reply
  kTopoGet,           ///< up   sub/topo/get               reply down .../reply
  kTopoGetResult,     ///< up   sub/topo/get/result        (no reply)
  kTopoChange,        ///< down sub/topo/change            reply up   ..._reply
  kSubPropertyGet,    ///< down sub/property/get           reply up   ..._reply
  kSubPropertySet,    ///< down sub/property/set           reply up   ..._reply
  kSubServiceInvoke,  ///< down sub/service/invoke         reply up   ..._reply
};

/// True for requests the device sends (their replies come down on ".../reply"); false for
/// requests the cloud sends (the device answers on "..._reply").
bool is_uplink(Operation operation);

/// What a topic is.
struct TopicParts {
  std::string_view product_id;
  std::string_view device_name;
  Operation operation = Operation::kPropertyPost;
  bool is_reply = false;        ///< ".../reply" or "..._reply"
  std::string_view service_id;  ///< kServiceInvoke only
};

/// Recognises a OneJSON topic. False for anything else (legacy topics, OTA, typos).
bool parse_topic(std::string_view topic, TopicParts* out);

/// Writes the topic of `operation` (its reply topic when `reply`) for the device plus a NUL.
/// `service_id` is needed for kServiceInvoke only. Returns the length, kBufferTooSmall, or
/// kInvalidArgument (empty product/device, or a missing service id).
Result<size_t> make_topic(char* out, size_t out_size, std::string_view product_id,
                          std::string_view device_name, Operation operation, bool reply = false,
                          std::string_view service_id = {});

/// The subscription a device needs for every downlink: "$sys/{product}/{device}/thing/#".
Result<size_t> make_thing_filter(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name);

/// The data-stream protocol's topics (数据流 products: onenet-protocol.md sections 3 and 4.6),
/// under $sys/{product}/{device}/. A product speaks either this or OneJSON, chosen when it is
/// made in OneNET's console.
enum class StreamTopic : uint8_t {
  kPointsPost,       ///< up   dp/post/json                       {"id": n, "dp": {...}}
  kPointsAccepted,   ///< down dp/post/json/accepted              {"id": n}
  kPointsRejected,   ///< down dp/post/json/rejected              {"id", "err_code", "err_msg"}
  kCommandRequest,   ///< down cmd/request/{cmdid}                the application's bytes
  kCommandResponse,  ///< up   cmd/response/{cmdid}               the device's bytes (< 1 KB)
  kCommandAccepted,  ///< down cmd/response/{cmdid}/accepted      empty
  kCommandRejected,  ///< down cmd/response/{cmdid}/rejected
  // The device image (设备镜像, the data-stream products' device shadow): a JSON document of
  // "desired" and "reported" values. Its answers carry no id.
  kImageUpdate,          ///< up   image/update            {"state": {"reported"?, "desired"?}}
  kImageUpdateAccepted,  ///< down image/update/accepted
  kImageUpdateRejected,  ///< down image/update/rejected   {"err_code", "err_msg"}
  kImageUpdateDelta,     ///< down image/update/delta      {"state": {differences}, "version", ...}
  kImageGet,             ///< up   image/get               empty
  kImageGetAccepted,     ///< down image/get/accepted      the image
  kImageGetRejected,     ///< down image/get/rejected      {"err_code", "err_msg"}
};

/// What a data-stream topic is.
struct StreamTopicParts {
  std::string_view product_id;
  std::string_view device_name;
  StreamTopic kind = StreamTopic::kPointsPost;
  std::string_view command_id;  ///< the cmdid level of the kCommand* topics
};

/// Recognises a data-stream topic. False for anything else (OneJSON topics, OTA, typos).
bool parse_stream_topic(std::string_view topic, StreamTopicParts* out);

/// Writes the topic `kind` of the device plus a NUL. `command_id` is needed by the kCommand*
/// topics only: one topic level, so not empty and without '/', '+' or '#'. Returns the length,
/// kBufferTooSmall, or kInvalidArgument (empty product/device, or a bad command id).
Result<size_t> make_stream_topic(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name, StreamTopic kind,
                                 std::string_view command_id = {});

/// The two subscriptions a data-stream device needs: "$sys/{product}/{device}/dp/post/json/+"
/// (the answers to its data points) and, with `commands`, "$sys/{product}/{device}/cmd/#"
/// (commands, and the answers to its responses).
Result<size_t> make_stream_filter(char* out, size_t out_size, std::string_view product_id,
                                  std::string_view device_name, bool commands);

/// The subscription to a data-stream device's image answers and deltas:
/// "$sys/{product}/{device}/image/#".
Result<size_t> make_image_filter(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name);

}  // namespace onenet::model
