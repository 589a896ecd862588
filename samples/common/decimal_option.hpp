// A CLI11 transform for whole-number options. CLI11 2.1 (Debian 12) reads numbers with
// strtoull/strtoll in base 0: "-5" given to an unsigned 64-bit option wraps around to
// 18446744073709551611, an overflow goes unnoticed, and "010" is read as octal (8). Samples only.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>

namespace onenet_sample {

/// Accepts 1 to 19 decimal digits (so any value fits 64 bits), and drops leading zeros so that
/// CLI11 does not take the number for octal.
inline CLI::Validator decimal() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.size() > 19 ||
            text.find_first_not_of("0123456789") != std::string::npos) {
          return "expected a whole number of at most 19 digits, got '" + text + "'";
        }
        text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
        return {};
      },
      "", "DECIMAL");
}

}  // namespace onenet_sample
