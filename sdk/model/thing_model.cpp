#include "onenet/model/thing_model.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "onenet/model/json_access.hpp"

namespace onenet::model {
namespace {

using nlohmann::json;

// What a numeric spec member holds. Exported specs write numbers as strings ("125"), and leave
// unused ones as "" (section 4.7).
enum class Spec { kAbsent, kNumber, kMalformed };

Spec number_of(const json* v, double* out) {
  if (v == nullptr || v->is_null()) return Spec::kAbsent;
  if (v->is_number()) {
    *out = v->get<double>();
    return std::isfinite(*out) ? Spec::kNumber : Spec::kMalformed;
  }
  if (!v->is_string()) return Spec::kMalformed;
  const std::string s = v->get<std::string>();
  if (s.empty()) return Spec::kAbsent;
  // strtod would also skip leading spaces and read "nan", "inf" and hexadecimal.
  if (s.find_first_not_of("0123456789+-.eE") != std::string::npos) return Spec::kMalformed;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' && std::isfinite(*out) ? Spec::kNumber : Spec::kMalformed;
}

// A whole number within [low, high] (false for NaN): only such a double converts to an integer
// type without undefined behaviour.
bool whole_within(double x, double low, double high) {
  return x >= low && x <= high && x == std::floor(x);
}

// A "length" spec (characters, bits or elements; 0 or absent: no limit) as a size. False for
// one that is no whole number from 0 to 2^31.
bool length_of(const json* v, size_t* out) {
  double length = 0;
  const Spec spec = number_of(v, &length);
  if (spec == Spec::kAbsent) return true;
  if (spec == Spec::kMalformed || !whole_within(length, 0, 2147483648.0)) return false;
  *out = static_cast<size_t>(length);
  return true;
}

bool integer_of(const json* v, int64_t* out) {
  if (v == nullptr) return false;
  if (v->is_number_integer()) {
    *out = v->get<int64_t>();
    return true;
  }
  if (!v->is_string()) return false;
  const std::string s = v->get<std::string>();
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// An integer type's bound: an integer ("-10", -10), or a number without a fraction ("1.0").
bool integer_bound(const json* v, double as_number, int64_t* out) {
  if (integer_of(v, out)) return true;
  if (!whole_within(as_number, -9.0e15, 9.0e15)) return false;
  *out = static_cast<int64_t>(as_number);  // exact: within 2^53
  return true;
}

bool parse_type(const json& data_type, TypeSpec* out, std::string* error, const std::string& where);

bool parse_fields(const json& list, std::vector<Field>* out, std::string* error,
                  const std::string& where) {
  if (list.is_null()) return true;
  if (!list.is_array()) {
    *error = where + ": expected a list of fields";
    return false;
  }
  for (const json& item : list) {
    Field f;
    f.identifier = string_member(item, "identifier");
    f.name = string_member(item, "name");
    if (f.identifier.empty()) {
      *error = where + ": a field has no identifier";
      return false;
    }
    const json* dt = member(item, "dataType");
    if (dt == nullptr || !parse_type(*dt, &f.type, error, where + "." + f.identifier)) {
      if (error->empty()) *error = where + "." + f.identifier + ": missing dataType";
      return false;
    }
    out->push_back(std::move(f));
  }
  return true;
}

bool parse_type(const json& data_type, TypeSpec* out, std::string* error,
                const std::string& where) {
  static const std::pair<const char*, DataType> kTypes[] = {
      {"int32", DataType::kInt32},   {"int64", DataType::kInt64}, {"float", DataType::kFloat},
      {"double", DataType::kDouble}, {"bool", DataType::kBool},   {"enum", DataType::kEnum},
      {"string", DataType::kString}, {"text", DataType::kString}, {"date", DataType::kDate},
      {"bitMap", DataType::kBitmap}, {"array", DataType::kArray}, {"struct", DataType::kStruct}};
  const std::string type = string_member(data_type, "type");
  bool known = false;
  for (const auto& t : kTypes) {
    if (type == t.first) {
      out->type = t.second;
      known = true;
    }
  }
  if (!known) {
    *error = where + ": unknown data type '" + type + "'";
    return false;
  }
  const json* specs = member(data_type, "specs");
  const json empty = json::object();
  const json& s = specs != nullptr ? *specs : empty;
  switch (out->type) {
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kFloat:
    case DataType::kDouble: {
      const Spec min = number_of(member(s, "min"), &out->min);
      const Spec max = number_of(member(s, "max"), &out->max);
      if (min == Spec::kMalformed || max == Spec::kMalformed) {
        *error = where + ": min and max must be numbers (or \"\" for none)";
        return false;
      }
      out->has_min = min == Spec::kNumber;
      out->has_max = max == Spec::kNumber;
      if (out->type == DataType::kInt32 || out->type == DataType::kInt64) {
        // An integer type is checked against integer bounds: a fractional one has no meaning.
        if ((out->has_min && !integer_bound(member(s, "min"), out->min, &out->min_integer)) ||
            (out->has_max && !integer_bound(member(s, "max"), out->max, &out->max_integer))) {
          *error = where + ": min and max of an integer type must be integers";
          return false;
        }
      }
      break;
    }
    case DataType::kString:
    case DataType::kBitmap:
      if (!length_of(member(s, "length"), &out->length)) {
        *error = where + ": length is not a whole number from 0 to 2^31";
        return false;
      }
      break;
    case DataType::kEnum:
      if (s.is_object()) {
        for (auto it = s.begin(); it != s.end(); ++it) {
          // The keys are the enum's integer values ({"0": "off", "1": "on"}).
          const std::string& key = it.key();
          char* end = nullptr;
          errno = 0;
          const int64_t v = std::strtoll(key.c_str(), &end, 10);
          if (key.empty() || key.find_first_not_of("0123456789-") != std::string::npos ||
              *end != '\0' || errno == ERANGE) {
            *error = where + ": enum value '" + key + "' is not an integer";
            return false;
          }
          out->enum_values[v] =
              it.value().is_string() ? it.value().get<std::string>() : std::string();
        }
      }
      break;
    case DataType::kArray: {
      if (!length_of(member(s, "length"), &out->length)) {
        *error = where + ": length is not a whole number from 0 to 2^31";
        return false;
      }
      TypeSpec element;
      json element_type = json::object();
      element_type["type"] = string_member(s, "type");
      if (const json* es = member(s, "specs")) element_type["specs"] = *es;
      if (!parse_type(element_type, &element, error, where + "[]")) return false;
      out->element.push_back(std::move(element));
      break;
    }
    case DataType::kStruct:
      if (!parse_fields(s, &out->members, error, where)) return false;
      break;
    default:
      break;
  }
  return true;
}

std::string check_range(const TypeSpec& t, const json& v, const std::string& path) {
  const bool integer = t.type == DataType::kInt32 || t.type == DataType::kInt64;
  if (integer) {
    const int64_t x = v.get<int64_t>();
    if (t.has_min && x < t.min_integer)
      return path + ": " + std::to_string(x) + " is below the minimum " +
             std::to_string(t.min_integer);
    if (t.has_max && x > t.max_integer)
      return path + ": " + std::to_string(x) + " is above the maximum " +
             std::to_string(t.max_integer);
    return {};
  }
  const double x = v.get<double>();
  if (t.has_min && x < t.min)
    return path + ": " + to_text(v) + " is below the minimum " + json(t.min).dump();
  if (t.has_max && x > t.max)
    return path + ": " + to_text(v) + " is above the maximum " + json(t.max).dump();
  return {};
}

std::string check_fields(const std::vector<Field>& fields, const json& object,
                         const std::string& path, bool all_required) {
  if (!object.is_object()) return path + ": expected an object";
  for (auto it = object.begin(); it != object.end(); ++it) {
    const Field* f = nullptr;
    for (const Field& candidate : fields) {
      if (candidate.identifier == it.key()) f = &candidate;
    }
    if (f == nullptr) return path + ": unknown identifier '" + it.key() + "'";
    std::string problem = ThingModel::check_value(f->type, it.value(), path + "." + it.key());
    if (!problem.empty()) return problem;
  }
  if (all_required) {
    for (const Field& f : fields) {
      if (object.find(f.identifier) == object.end())
        return path + ": missing '" + f.identifier + "'";
    }
  }
  return {};
}

}  // namespace

const char* to_string(DataType type) {
  switch (type) {
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
    case DataType::kFloat:
      return "float";
    case DataType::kDouble:
      return "double";
    case DataType::kBool:
      return "bool";
    case DataType::kEnum:
      return "enum";
    case DataType::kString:
      return "string";
    case DataType::kDate:
      return "date";
    case DataType::kBitmap:
      return "bitMap";
    case DataType::kArray:
      return "array";
    case DataType::kStruct:
      return "struct";
  }
  return "unknown";
}

bool ThingModel::load(std::string_view json_text, std::string* error) {
  const json root = parse_json(json_text);
  if (root.is_discarded() || !root.is_object()) {
    *error = "thing model: not a JSON object (or nested deeper than " +
             std::to_string(kMaxJsonDepth) + " levels)";
    return false;
  }
  ThingModel model;
  if (const json* list = member(root, "properties"); list != nullptr && list->is_array()) {
    for (const json& p : *list) {
      Property prop;
      prop.identifier = string_member(p, "identifier");
      prop.name = string_member(p, "name");
      prop.writable = string_member(p, "accessMode") == "rw";
      const json* dt = member(p, "dataType");
      if (prop.identifier.empty() || dt == nullptr) {
        *error = "thing model: a property lacks identifier or dataType";
        return false;
      }
      if (!parse_type(*dt, &prop.type, error, "property " + prop.identifier)) return false;
      model.properties_.push_back(std::move(prop));
    }
  }
  if (const json* list = member(root, "events"); list != nullptr && list->is_array()) {
    for (const json& e : *list) {
      Event event;
      event.identifier = string_member(e, "identifier");
      event.name = string_member(e, "name");
      event.event_type = string_member(e, "eventType");
      const json* out = member(e, "outputData");
      if (event.identifier.empty() ||
          !parse_fields(out ? *out : json(), &event.output, error, "event " + event.identifier)) {
        if (error->empty()) *error = "thing model: an event lacks an identifier";
        return false;
      }
      model.events_.push_back(std::move(event));
    }
  }
  if (const json* list = member(root, "services"); list != nullptr && list->is_array()) {
    for (const json& s : *list) {
      Service service;
      service.identifier = string_member(s, "identifier");
      service.name = string_member(s, "name");
      service.async = string_member(s, "callType") == "async";
      const json* in = member(s, "inputData");
      const json* out = member(s, "outputData");
      if (service.identifier.empty() ||
          !parse_fields(in ? *in : json(), &service.input, error,
                        "service " + service.identifier) ||
          !parse_fields(out ? *out : json(), &service.output, error,
                        "service " + service.identifier)) {
        if (error->empty()) *error = "thing model: a service lacks an identifier";
        return false;
      }
      model.services_.push_back(std::move(service));
    }
  }
  *this = std::move(model);
  return true;
}

const Property* ThingModel::property(std::string_view identifier) const {
  for (const Property& p : properties_) {
    if (p.identifier == identifier) return &p;
  }
  return nullptr;
}

const Event* ThingModel::event(std::string_view identifier) const {
  for (const Event& e : events_) {
    if (e.identifier == identifier) return &e;
  }
  return nullptr;
}

const Service* ThingModel::service(std::string_view identifier) const {
  for (const Service& s : services_) {
    if (s.identifier == identifier) return &s;
  }
  return nullptr;
}

std::string ThingModel::check_value(const TypeSpec& t, const json& v, const std::string& path) {
  switch (t.type) {
    case DataType::kInt32:
    case DataType::kInt64: {
      if (!v.is_number_integer())
        return path + ": expected an integer (" + to_string(t.type) + "), got " + to_text(v);
      if (t.type == DataType::kInt32 && (v.is_number_unsigned() ? v.get<uint64_t>() > INT32_MAX
                                                                : (v.get<int64_t>() < INT32_MIN ||
                                                                   v.get<int64_t>() > INT32_MAX))) {
        return path + ": " + to_text(v) + " does not fit in int32";
      }
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return path + ": " + to_text(v) + " does not fit in int64";
      }
      return check_range(t, v, path);
    }
    case DataType::kFloat:
    case DataType::kDouble: {
      if (!v.is_number())
        return path + ": expected a number (" + std::string(to_string(t.type)) + "), got " +
               to_text(v);
      const double x = v.get<double>();
      if (!std::isfinite(x) ||
          (t.type == DataType::kFloat && std::fabs(x) > std::numeric_limits<float>::max())) {
        return path + ": " + to_text(v) + " is out of range for " + to_string(t.type);
      }
      return check_range(t, v, path);
    }
    case DataType::kBool:
      return v.is_boolean() ? std::string() : path + ": expected true or false, got " + to_text(v);
    case DataType::kEnum:
      if (!v.is_number_integer())
        return path + ": expected an enum value (integer), got " + to_text(v);
      if (!t.enum_values.empty() && t.enum_values.count(v.get<int64_t>()) == 0) {
        return path + ": " + to_text(v) + " is not one of the enum's values";
      }
      return {};
    case DataType::kString: {
      if (!v.is_string()) return path + ": expected a string, got " + to_text(v);
      const size_t n = utf8_characters(v.get<std::string>());  // what the user typed
      if (t.length > 0 && n > t.length) {
        return path + ": string of " + std::to_string(n) + " characters is longer than " +
               std::to_string(t.length);
      }
      return {};
    }
    case DataType::kDate: {
      // UTC milliseconds, as a number or as a string of digits.
      if (v.is_number_integer() && v.get<int64_t>() >= 0) return {};
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return {};
      }
      return path + ": expected a date (UTC milliseconds), got " + to_text(v);
    }
    case DataType::kBitmap: {
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        return path + ": expected a bitmap (non-negative integer), got " + to_text(v);
      if (t.length > 0 && t.length < 63 && v.get<int64_t>() >= (int64_t{1} << t.length)) {
        return path + ": " + to_text(v) + " has bits beyond the bitmap's " +
               std::to_string(t.length);
      }
      return {};
    }
    case DataType::kArray: {
      if (!v.is_array()) return path + ": expected an array, got " + to_text(v);
      if (t.length > 0 && v.size() > t.length) {
        return path + ": array of " + std::to_string(v.size()) + " elements is longer than " +
               std::to_string(t.length);
      }
      for (size_t i = 0; i < v.size() && !t.element.empty(); ++i) {
        std::string problem = check_value(t.element[0], v[i], path + "[" + std::to_string(i) + "]");
        if (!problem.empty()) return problem;
      }
      return {};
    }
    case DataType::kStruct:
      return check_fields(t.members, v, path, true);
  }
  return path + ": unsupported type";
}

std::string ThingModel::check_property_post(const json& params) const {
  if (!params.is_object()) return "params: expected an object of properties";
  for (auto it = params.begin(); it != params.end(); ++it) {
    const Property* p = property(it.key());
    if (p == nullptr) return "unknown property '" + it.key() + "'";
    const json* value = member(it.value(), "value");
    if (value == nullptr) return it.key() + ": expected {\"value\": ..., \"time\": ...}";
    if (const json* time = member(it.value(), "time");
        time != nullptr && !time->is_number_integer()) {
      return it.key() + ".time: expected milliseconds since the epoch";
    }
    std::string problem = check_value(p->type, *value, it.key());
    if (!problem.empty()) return problem;
  }
  return {};
}

std::string ThingModel::check_property_set(const json& params) const {
  if (!params.is_object() || params.empty())
    return "params: expected an object of properties to set";
  for (auto it = params.begin(); it != params.end(); ++it) {
    const Property* p = property(it.key());
    if (p == nullptr) return "unknown property '" + it.key() + "'";
    if (!p->writable) return it.key() + ": property is read-only (accessMode r)";
    std::string problem = check_value(p->type, it.value(), it.key());
    if (!problem.empty()) return problem;
  }
  return {};
}

std::string ThingModel::check_property_get(const json& params) const {
  if (!params.is_array()) return "params: expected a list of property identifiers";
  for (const json& id : params) {
    if (!id.is_string()) return "params: identifiers must be strings";
    if (property(id.get<std::string>()) == nullptr)
      return "unknown property '" + id.get<std::string>() + "'";
  }
  return {};
}

std::string ThingModel::check_event_post(const json& params) const {
  if (!params.is_object()) return "params: expected an object of events";
  for (auto it = params.begin(); it != params.end(); ++it) {
    const Event* e = event(it.key());
    if (e == nullptr) return "unknown event '" + it.key() + "'";
    const json* value = member(it.value(), "value");
    if (value == nullptr) return it.key() + ": expected {\"value\": {...}, \"time\": ...}";
    std::string problem = check_fields(e->output, *value, it.key(), false);
    if (!problem.empty()) return problem;
  }
  return {};
}

std::string ThingModel::check_service_input(std::string_view identifier, const json& params) const {
  const Service* s = service(identifier);
  if (s == nullptr) return "unknown service '" + std::string(identifier) + "'";
  return check_fields(s->input, params.is_null() ? json::object() : params, std::string(identifier),
                      false);
}

std::string ThingModel::check_service_output(std::string_view identifier, const json& data) const {
  const Service* s = service(identifier);
  if (s == nullptr) return "unknown service '" + std::string(identifier) + "'";
  return check_fields(s->output, data.is_null() ? json::object() : data, std::string(identifier),
                      false);
}

}  // namespace onenet::model
