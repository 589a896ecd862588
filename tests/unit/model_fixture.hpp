// Thing models for unit tests, from JSON text written in the test.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "onenet/model/thing_model.hpp"

namespace model_test {

/// The model `text` describes; the test fails (with the loader's reason) if it does not load.
inline onenet::model::ThingModel model_of(std::string_view text) {
  onenet::model::ThingModel model;
  std::string error;
  const bool loaded = model.load(text, &error);
  INFO(error);
  REQUIRE(loaded);
  return model;
}

}  // namespace model_test
