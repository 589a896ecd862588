// Topic fuzzer: the input is "filter\0topic". Oracles: no crash; matching agrees with a
// straightforward level-by-level reference; validation and matching are consistent. Without a
// NUL, the input is also a topic for the OneNET topic tables (OneJSON and data streams): a
// topic they recognise is built again, byte for byte, from what they read in it.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "onenet/codec/topic.hpp"
#include "onenet/model/topics.hpp"

using namespace onenet;
using namespace onenet::codec;

namespace {

std::vector<std::string_view> levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = s.find('/', start);
    out.push_back(
        s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// The standard's rules written as plainly as possible, for comparison.
bool reference_match(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
  const auto f = levels(filter);
  const auto t = levels(topic);
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") return true;
    if (i >= t.size()) return false;
    if (f[i] != "+" && f[i] != t[i]) return false;
  }
  return f.size() == t.size();
}

// parse_topic and parse_stream_topic against make_topic and make_stream_topic.
void check_onenet_tables(std::string_view topic) {
  char rebuilt[1024];
  model::TopicParts parts;
  if (model::parse_topic(topic, &parts)) {
    const auto n = model::make_topic(rebuilt, sizeof rebuilt, parts.product_id, parts.device_name,
                                     parts.operation, parts.is_reply, parts.service_id);
    if (!n.ok() || std::string_view(rebuilt, n.value()) != topic) std::abort();
  }
  model::StreamTopicParts stream;
  if (model::parse_stream_topic(topic, &stream)) {
    const auto n = model::make_stream_topic(rebuilt, sizeof rebuilt, stream.product_id,
                                            stream.device_name, stream.kind, stream.command_id);
    if (!n.ok() || std::string_view(rebuilt, n.value()) != topic) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == std::string_view::npos) {
    (void)check_utf8(input);
    if (input.size() < 1000) check_onenet_tables(input);
    return 0;
  }
  const std::string_view filter = input.substr(0, split);
  const std::string_view topic = input.substr(split + 1);
  if (check_topic_filter(filter) != Status::kOk || check_topic_name(topic) != Status::kOk) return 0;
  if (topic_matches(filter, topic) != reference_match(filter, topic)) std::abort();
  // A valid topic name is also a valid filter, and it matches itself.
  if (check_topic_filter(topic) != Status::kOk || !topic_matches(topic, topic)) std::abort();
  return 0;
}
