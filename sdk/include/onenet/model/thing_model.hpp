// A product's thing model (TSL) as OneNET exports it (onenet-protocol.md 4.7), and the checks
// of values against it: identifiers, access modes, types, ranges, lengths, sizes.
//
// Host-side (uses the heap and nlohmann/json). Never throws: JSON is parsed with
// parse(..., nullptr, false) and read with type checks first. A check returns an empty string
// when the value is fine, else a sentence naming the field and what is wrong with it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace onenet::model {

enum class DataType {
  kInt32,
  kInt64,
  kFloat,
  kDouble,
  kBool,
  kEnum,
  kString,
  kDate,
  kBitmap,
  kArray,
  kStruct
};

/// "int32", "int64", ... as the TSL spells them.
const char* to_string(DataType type);

struct Field;

/// A data type with its specs. Numeric bounds are kept as both integer and floating point so
/// int64 bounds stay exact.
struct TypeSpec {
  DataType type = DataType::kInt32;
  bool has_min = false;
  bool has_max = false;
  double min = 0;
  double max = 0;
  int64_t min_integer = 0;
  int64_t max_integer = 0;
  size_t length = 0;  ///< string: max characters; array: max elements; bitMap: bits
  std::map<int64_t, std::string> enum_values;  ///< enum: value -> name
  std::vector<TypeSpec> element;               ///< array: exactly one element type
  std::vector<Field> members;                  ///< struct: its members
};

struct Field {
  std::string identifier;
  std::string name;
  TypeSpec type;
};

struct Property {
  std::string identifier;
  std::string name;
  TypeSpec type;
  bool writable = false;  ///< accessMode "rw"
};

struct Event {
  std::string identifier;
  std::string name;
  std::string event_type;  ///< info, alert or error
  std::vector<Field> output;
};

struct Service {
  std::string identifier;
  std::string name;
  bool async = false;  ///< callType "async"
  std::vector<Field> input;
  std::vector<Field> output;
};

class ThingModel {
 public:
  /// Parses an exported thing model. On failure returns false and sets `*error`.
  bool load(std::string_view json_text, std::string* error);

  const Property* property(std::string_view identifier) const;
  const Event* event(std::string_view identifier) const;
  const Service* service(std::string_view identifier) const;
  const std::vector<Property>& properties() const { return properties_; }
  const std::vector<Event>& events() const { return events_; }
  const std::vector<Service>& services() const { return services_; }
  bool empty() const { return properties_.empty() && events_.empty() && services_.empty(); }

  /// A value against a type; `path` names it in the message.
  static std::string check_value(const TypeSpec& type, const nlohmann::json& value,
                                 const std::string& path);

  /// property/post params: {"id": {"value": v, "time": ms?}, ...}.
  std::string check_property_post(const nlohmann::json& params) const;
  /// property/set params: {"id": v, ...}; every property must be writable ("rw").
  std::string check_property_set(const nlohmann::json& params) const;
  /// property/get params: ["id", ...].
  std::string check_property_get(const nlohmann::json& params) const;
  /// event/post params: {"eventId": {"value": {outputs}, "time": ms?}}.
  std::string check_event_post(const nlohmann::json& params) const;
  /// Service input (invoke params) or output (invoke_reply data).
  std::string check_service_input(std::string_view identifier, const nlohmann::json& params) const;
  std::string check_service_output(std::string_view identifier, const nlohmann::json& data) const;

 private:
  std::vector<Property> properties_;
  std::vector<Event> events_;
  std::vector<Service> services_;
};

}  // namespace onenet::model
