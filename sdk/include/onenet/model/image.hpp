// The device image's rules (设备镜像, the device shadow of data-stream products: section 3 and
// OneNET's device image page), shared by model::Device, provision::ApiClient and onenet-local.
// Host side: nlohmann/json in no-throw mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace onenet::model {

/// The device image's limits (设备镜像, OneNET's device image page for data-stream products):
/// the whole image within 4 KB, every key (at any level) 1 to 30 letters, digits or '_', and at
/// most 4 levels of objects or lists nested below "desired" or "reported".
constexpr size_t kMaxImageBytes = 4096;
constexpr size_t kMaxImageNesting = 4;
constexpr size_t kMaxImageKeyLength = 30;
/// What check_image_values found: the image's error codes (section 3) each maps to.
enum class ImageProblem : uint8_t {
  kNone,
  kTooDeep,    ///< 162, json depth out of bound
  kBadKey,     ///< 165, invalid parameters
  kNotObject,  ///< 165, invalid parameters
};
/// Checks one "desired" or "reported" object of an image update against the limits above (not
/// the size, which is the whole message's). `*problem` (optional) says what, in words.
ImageProblem check_image_values(const nlohmann::json& values, std::string* problem = nullptr);

}  // namespace onenet::model
