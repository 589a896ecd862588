#include "onenet/model/image.hpp"

#include <cctype>

namespace onenet::model {

using nlohmann::json;

namespace {

bool valid_image_key(const std::string& key) {
  if (key.empty() || key.size() > kMaxImageKeyLength) return false;
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// `value` sits `levels` containers below desired/reported; it stops going down past the limit,
// so its own depth stays small whatever the input.
ImageProblem check_image_level(const json& value, size_t levels, const std::string& path,
                               std::string* problem) {
  if (!value.is_object() && !value.is_array()) return ImageProblem::kNone;
  if (levels == kMaxImageNesting) {
    if (problem) *problem = path + ": nested deeper than 4 levels";
    return ImageProblem::kTooDeep;
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    std::string where = path;
    if (value.is_object()) {
      if (!valid_image_key(it.key())) {
        if (problem) *problem = path + ": key '" + it.key() + "': 1 to 30 letters, digits or '_'";
        return ImageProblem::kBadKey;
      }
      where += "." + it.key();
    } else {
      where += "[]";
    }
    const ImageProblem found = check_image_level(it.value(), levels + 1, where, problem);
    if (found != ImageProblem::kNone) return found;
  }
  return ImageProblem::kNone;
}

}  // namespace

ImageProblem check_image_values(const json& values, std::string* problem) {
  if (!values.is_object()) {
    if (problem) *problem = "expected a JSON object of values";
    return ImageProblem::kNotObject;
  }
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (!valid_image_key(it.key())) {
      if (problem) *problem = "key '" + it.key() + "': 1 to 30 letters, digits or '_'";
      return ImageProblem::kBadKey;
    }
    const ImageProblem found = check_image_level(it.value(), 0, it.key(), problem);
    if (found != ImageProblem::kNone) return found;
  }
  return ImageProblem::kNone;
}

}  // namespace onenet::model
