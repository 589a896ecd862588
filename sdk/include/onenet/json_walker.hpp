// A heap-free JSON reader for the portable core: it walks one object's members without
// recursion or copies, for a firmware that has no JSON library (fuse-ota's answers in
// onenet/ota/fuse_ota.hpp; the MCU sample's property/set). It checks structure (quotes,
// brackets, separators) only as far as it must to find each member: a value is returned as
// its raw text, to be read with the helpers below. It never reads past the text it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace onenet::lite_json {

/// Walks the members of the object that `text` holds (leading white space allowed). The text
/// is borrowed: it must outlive the walker and every view it returns.
class ObjectWalker {
 public:
  explicit ObjectWalker(std::string_view text);

  /// The next member: true with its key (raw, between the quotes) and value (its whole text:
  /// a string with its quotes, an object or array with its brackets, a number or a literal);
  /// false at the end of the object or on malformed text (then malformed() says so).
  bool next(std::string_view* key, std::string_view* value);

  /// Whether the walk stopped on text that is not a JSON object (or not one it can read).
  bool malformed() const { return !ok_; }

 private:
  bool fail();
  bool take(char c);
  void skip_spaces();
  bool skip_string();
  bool skip_value();

  std::string_view text_;
  size_t at_ = 0;
  size_t members_ = 0;
  bool ok_ = true;
  bool done_ = false;
};

/// A value that is a plain decimal integer (digits only: no sign, fraction or exponent) of at
/// most 19 digits, so it cannot overflow: true with it in `*out`.
bool read_unsigned(std::string_view value, uint64_t* out);

/// A value that is a string without escapes: true with what is between its quotes in
/// `*contents` (a view into `value`). Strings with a backslash are refused, not decoded.
bool read_plain_string(std::string_view value, std::string_view* contents);

}  // namespace onenet::lite_json
