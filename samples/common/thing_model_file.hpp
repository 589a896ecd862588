// Reading a product's exported thing-model file, for the samples that check against one.
// Samples only; not SDK API.
#pragma once

#include <string>

#include "onenet/model/thing_model.hpp"
#include "sample_support.hpp"

namespace onenet_sample {

/// Loads a thing-model file into `model`; false with the reason ("cannot read PATH", or what the
/// loader refused) in `error`.
inline bool load_thing_model(const std::string& path, onenet::model::ThingModel* model,
                             std::string* error) {
  std::string text;
  if (!read_file(path, &text)) {
    *error = "cannot read " + path;
    return false;
  }
  if (model->load(text, error)) return true;
  *error = path + ": " + *error;
  return false;
}

}  // namespace onenet_sample
