// Topic fuzzer: the input is "filter\0topic". Oracles: no crash; matching agrees with a
// straightforward level-by-level reference; validation and matching are consistent.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "onenet/codec/topic.hpp"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  if (split == std::string_view::npos) {
    (void)check_utf8(input);
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
