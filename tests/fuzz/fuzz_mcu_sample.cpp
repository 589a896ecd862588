// The MCU sample's property/set reader (samples/mcu-device): the input is the payload, its first
// byte choosing the id buffer's size. Oracles: no crash or read past the text (ASan); the id is
// terminated within its buffer; an accepted interval is within 1..3600; and whenever nlohmann/json
// reads the text as a request this device takes (params holding only an unsigned interval in
// range), so does the sample, with the same value. The sample may refuse more (escaped keys).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_require.hpp"
#include "mcu_device.hpp"

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

  if (text.find('\\') != std::string_view::npos) return 0;
  const nlohmann::json request = nlohmann::json::parse(text, nullptr, false);
  if (!request.is_object()) return 0;
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
