// The MCU sample's readers (samples/mcu-device): property/set and the desired/get reply. The input
// is the payload, its first byte choosing the id buffer's size. Oracles, for both: no crash or
// read past the text (ASan); the id is terminated within its buffer; an accepted interval is
// within 1..3600 (a desired one with a version of at least 1); and whenever nlohmann/json reads
// the text as a message this device takes, so does the sample, with the same values: a set whose
// params hold only an unsigned interval in range; a reply with code 200 whose data holds no
// interval (none held) or an interval {value in range, version from 1}. The sample may refuse
// more (escaped keys).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_require.hpp"
#include "mcu_device.hpp"

namespace {

// What nlohmann/json reads in a desired/get reply, against what the sample made of it.
void check_desired_reply(const nlohmann::json& reply, const mcu_sample::DesiredInterval& desired) {
  const auto code = reply.find("code");
  const auto data = reply.find("data");
  if (code == reply.end() || !code->is_number_unsigned() || code->get<uint64_t>() != 200) return;
  if (data == reply.end() || !data->is_object()) return;
  const auto interval = data->find("interval");
  if (interval == data->end()) {
    require(desired.outcome == mcu_sample::DesiredInterval::kNone);
    return;
  }
  if (!interval->is_object()) return;
  const auto value = interval->find("value");
  const auto version = interval->find("version");
  if (value == interval->end() || !value->is_number_unsigned()) return;
  if (version == interval->end() || !version->is_number_unsigned()) return;
  const uint64_t seconds = value->get<uint64_t>();
  const uint64_t number = version->get<uint64_t>();
  if (seconds < 1 || seconds > 3600 || number < 1 || number > UINT32_MAX) return;
  require(desired.outcome == mcu_sample::DesiredInterval::kTaken);
  require(desired.seconds == seconds);
  require(desired.version == number);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t id_capacity = 1 + data[0] % 32;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  char id[33];
  std::memset(id, 'x', sizeof id);
  const mcu_sample::IntervalSet set = mcu_sample::parse_interval_set(text, id, id_capacity);
  require(std::memchr(id, '\0', id_capacity) != nullptr);
  if (set.ok) require(set.seconds >= 1 && set.seconds <= 3600);
  if (!set.ok) require(set.problem != nullptr && set.problem[0] != '\0');

  std::memset(id, 'x', sizeof id);
  const mcu_sample::DesiredInterval desired =
      mcu_sample::parse_desired_interval(text, id, id_capacity);
  require(std::memchr(id, '\0', id_capacity) != nullptr);
  if (desired.outcome == mcu_sample::DesiredInterval::kTaken) {
    require(desired.seconds >= 1 && desired.seconds <= 3600);
    require(desired.version >= 1);
  }
  if (desired.outcome == mcu_sample::DesiredInterval::kRefused)
    require(desired.problem != nullptr && desired.problem[0] != '\0');

  if (text.find('\\') != std::string_view::npos) return 0;
  const nlohmann::json request = nlohmann::json::parse(text, nullptr, false);
  if (!request.is_object()) return 0;
  check_desired_reply(request, desired);
  const auto params = request.find("params");
  if (params == request.end() || !params->is_object() || params->size() != 1) return 0;
  const auto interval = params->find("interval");
  if (interval == params->end() || !interval->is_number_unsigned()) return 0;
  const uint64_t seconds = interval->get<uint64_t>();
  if (seconds < 1 || seconds > 3600) return 0;
  require(set.ok);
  require(set.seconds == seconds);
  return 0;
}
