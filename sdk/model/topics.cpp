#include "onenet/model/topics.hpp"

#include <cstring>

namespace onenet::model {
namespace {

struct Entry {
  Operation operation;
  const char*
      path;  // after "$sys/{pid}/{dn}/thing/"; kServiceInvoke is "service/" + id + "/invoke"
  bool uplink;
};

constexpr Entry kTable[] = {
    {Operation::kPropertyPost, "property/post", true},
    {Operation::kPropertySet, "property/set", false},
    {Operation::kPropertyGet, "property/get", false},
    {Operation::kDesiredGet, "property/desired/get", true},
    {Operation::kDesiredDelete, "property/desired/delete", true},
    {Operation::kEventPost, "event/post", true},
    {Operation::kServiceInvoke, "service/", false},
    {Operation::kPackPost, "pack/post", true},
    {Operation::kHistoryPost, "history/post", true},
    {Operation::kSubLogin, "sub/login", true},
    {Operation::kSubLogout, "sub/logout", true},
    {Operation::kTopoAdd, "sub/topo/add", true},
    {Operation::kTopoDelete, "sub/topo/delete", true},
    {Operation::kTopoGet, "sub/topo/get", true},
    {Operation::kTopoGetResult, "sub/topo/get/result", true},
    {Operation::kTopoChange, "sub/topo/change", false},
    {Operation::kSubPropertyGet, "sub/property/get", false},
    {Operation::kSubPropertySet, "sub/property/set", false},
    {Operation::kSubServiceInvoke, "sub/service/invoke", false},
};

const Entry& entry_of(Operation operation) {
  return kTable[static_cast<size_t>(operation)];
}

// Replies to device requests add "/reply"; replies to cloud requests add "_reply" (section 3).
std::string_view reply_suffix(bool uplink) {
  return uplink ? "/reply" : "_reply";
}

// The checks below compare with memcmp over lengths already checked: string_view::substr
// would add a bounds check and its error text to an MCU image for every call (~700 B here).
bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::memcmp(text.data(), prefix.data(), prefix.size()) == 0;
}

bool equals(std::string_view text, std::string_view other) {
  return text.size() == other.size() && starts_with(text, other);
}

// Splits off the first level of `rest` (non-empty, '/'-terminated).
bool take_level(std::string_view* rest, std::string_view* level) {
  const void* slash = std::memchr(rest->data(), '/', rest->size());
  if (slash == nullptr || slash == rest->data()) return false;
  const size_t length = static_cast<size_t>(static_cast<const char*>(slash) - rest->data());
  *level = std::string_view(rest->data(), length);
  rest->remove_prefix(length + 1);
  return true;
}

// Writes the concatenation of `pieces` plus a NUL into `out`; returns its length.
template <size_t N>
Result<size_t> join(char* out, size_t out_size, const std::string_view (&pieces)[N]) {
  size_t length = 0;
  for (const std::string_view p : pieces) length += p.size();
  if (out == nullptr || out_size < length + 1) return Status::kBufferTooSmall;
  size_t at = 0;
  for (const std::string_view p : pieces) {
    if (p.empty()) continue;  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(out + at, p.data(), p.size());
    at += p.size();
  }
  out[at] = '\0';
  return at;
}

}  // namespace

bool is_uplink(Operation operation) {
  return entry_of(operation).uplink;
}

bool parse_topic(std::string_view topic, TopicParts* out) {
  if (!starts_with(topic, "$sys/")) return false;
  std::string_view rest = topic;
  rest.remove_prefix(5);
  TopicParts parts;
  std::string_view thing;
  if (!take_level(&rest, &parts.product_id) || !take_level(&rest, &parts.device_name) ||
      !take_level(&rest, &thing) || !equals(thing, "thing")) {
    return false;
  }
  // "service/{id}/invoke" and its "_reply" first: the id is free text.
  if (starts_with(rest, "service/")) {
    rest.remove_prefix(8);
    if (!take_level(&rest, &parts.service_id)) return false;
    if (!equals(rest, "invoke") && !equals(rest, "invoke_reply")) return false;
    parts.operation = Operation::kServiceInvoke;
    parts.is_reply = rest.size() == 12;
    *out = parts;
    return true;
  }
  for (const Entry& e : kTable) {
    if (e.operation == Operation::kServiceInvoke) continue;
    const std::string_view path = e.path;
    if (!starts_with(rest, path)) continue;
    std::string_view tail = rest;
    tail.remove_prefix(path.size());
    if (tail.empty() || equals(tail, reply_suffix(e.uplink))) {
      parts.operation = e.operation;
      parts.is_reply = !tail.empty();
      *out = parts;
      return true;
    }
  }
  return false;
}

Result<size_t> make_topic(char* out, size_t out_size, std::string_view product_id,
                          std::string_view device_name, Operation operation, bool reply,
                          std::string_view service_id) {
  if (product_id.empty() || device_name.empty()) return Status::kInvalidArgument;
  const Entry& e = entry_of(operation);
  const bool service = operation == Operation::kServiceInvoke;
  if (service && service_id.empty()) return Status::kInvalidArgument;
  const std::string_view pieces[] = {"$sys/",
                                     product_id,
                                     "/",
                                     device_name,
                                     "/thing/",
                                     e.path,
                                     service ? service_id : std::string_view(),
                                     service ? std::string_view("/invoke") : std::string_view(),
                                     reply ? reply_suffix(e.uplink) : std::string_view()};
  return join(out, out_size, pieces);
}

Result<size_t> make_thing_filter(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name) {
  if (product_id.empty() || device_name.empty()) return Status::kInvalidArgument;
  const std::string_view pieces[] = {"$sys/", product_id, "/", device_name, "/thing/#"};
  return join(out, out_size, pieces);
}

namespace {

constexpr std::string_view kPointsPath = "dp/post/json";
constexpr std::string_view kRequestPath = "cmd/request/";
constexpr std::string_view kResponsePath = "cmd/response/";

// The device image's topics after $sys/{pid}/{dn}/, section 3 (legacy MQTTS). The text lives in
// the table itself, not in the shared string pool, so that a device that never names an image
// topic links none of it (--gc-sections drops the table).
struct ImagePath {
  StreamTopic kind;
  char path[22];  // the longest, "image/update/accepted", and its NUL
};
constexpr ImagePath kImagePaths[] = {
    {StreamTopic::kImageUpdate, "image/update"},
    {StreamTopic::kImageUpdateAccepted, "image/update/accepted"},
    {StreamTopic::kImageUpdateRejected, "image/update/rejected"},
    {StreamTopic::kImageUpdateDelta, "image/update/delta"},
    {StreamTopic::kImageGet, "image/get"},
    {StreamTopic::kImageGetAccepted, "image/get/accepted"},
    {StreamTopic::kImageGetRejected, "image/get/rejected"},
};

// A cmdid is one topic level the platform chose; it must be usable inside a topic name.
bool valid_command_id(std::string_view id) {
  if (id.empty()) return false;
  for (const char c : id) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

}  // namespace

bool parse_stream_topic(std::string_view topic, StreamTopicParts* out) {
  if (!starts_with(topic, "$sys/")) return false;
  std::string_view rest = topic;
  rest.remove_prefix(5);
  StreamTopicParts parts;
  if (!take_level(&rest, &parts.product_id) || !take_level(&rest, &parts.device_name)) return false;
  for (const ImagePath& image : kImagePaths) {
    if (equals(rest, image.path)) {
      parts.kind = image.kind;
      *out = parts;
      return true;
    }
  }
  if (starts_with(rest, kPointsPath)) {
    rest.remove_prefix(kPointsPath.size());
    if (rest.empty()) {
      parts.kind = StreamTopic::kPointsPost;
    } else if (equals(rest, "/accepted")) {
      parts.kind = StreamTopic::kPointsAccepted;
    } else if (equals(rest, "/rejected")) {
      parts.kind = StreamTopic::kPointsRejected;
    } else {
      return false;
    }
    *out = parts;
    return true;
  }
  const bool request = starts_with(rest, kRequestPath);
  if (!request && !starts_with(rest, kResponsePath)) return false;
  rest.remove_prefix(request ? kRequestPath.size() : kResponsePath.size());
  const void* slash = std::memchr(rest.data(), '/', rest.size());
  const size_t id_length = slash == nullptr
                               ? rest.size()
                               : static_cast<size_t>(static_cast<const char*>(slash) - rest.data());
  parts.command_id = std::string_view(rest.data(), id_length);
  if (!valid_command_id(parts.command_id)) return false;
  rest.remove_prefix(id_length);
  if (rest.empty()) {
    parts.kind = request ? StreamTopic::kCommandRequest : StreamTopic::kCommandResponse;
  } else if (!request && equals(rest, "/accepted")) {
    parts.kind = StreamTopic::kCommandAccepted;
  } else if (!request && equals(rest, "/rejected")) {
    parts.kind = StreamTopic::kCommandRejected;
  } else {
    return false;
  }
  *out = parts;
  return true;
}

Result<size_t> make_stream_topic(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name, StreamTopic kind,
                                 std::string_view command_id) {
  if (product_id.empty() || device_name.empty()) return Status::kInvalidArgument;
  std::string_view path = kPointsPath;
  std::string_view suffix;
  switch (kind) {
    case StreamTopic::kPointsPost:
      break;
    case StreamTopic::kPointsAccepted:
      suffix = "/accepted";
      break;
    case StreamTopic::kPointsRejected:
      suffix = "/rejected";
      break;
    case StreamTopic::kCommandRequest:
      path = kRequestPath;
      break;
    case StreamTopic::kCommandResponse:
      path = kResponsePath;
      break;
    case StreamTopic::kCommandAccepted:
      path = kResponsePath;
      suffix = "/accepted";
      break;
    case StreamTopic::kCommandRejected:
      path = kResponsePath;
      suffix = "/rejected";
      break;
    default:
      for (const ImagePath& image : kImagePaths) {
        if (image.kind == kind) path = image.path;
      }
      break;
  }
  const bool command = path == kRequestPath || path == kResponsePath;
  if (command && !valid_command_id(command_id)) return Status::kInvalidArgument;
  const std::string_view pieces[] = {
      "$sys/", product_id, "/", device_name, "/", path, command ? command_id : std::string_view(),
      suffix};
  return join(out, out_size, pieces);
}

Result<size_t> make_stream_filter(char* out, size_t out_size, std::string_view product_id,
                                  std::string_view device_name, bool commands) {
  if (product_id.empty() || device_name.empty()) return Status::kInvalidArgument;
  const std::string_view pieces[] = {"$sys/", product_id, "/", device_name,
                                     commands ? "/cmd/#" : "/dp/post/json/+"};
  return join(out, out_size, pieces);
}

Result<size_t> make_image_filter(char* out, size_t out_size, std::string_view product_id,
                                 std::string_view device_name) {
  if (product_id.empty() || device_name.empty()) return Status::kInvalidArgument;
  const std::string_view pieces[] = {"$sys/", product_id, "/", device_name, "/image/#"};
  return join(out, out_size, pieces);
}

}  // namespace onenet::model
