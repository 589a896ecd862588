#include "onenet/json_walker.hpp"

#include <cstring>

namespace onenet::lite_json {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A view cut by hand over bounds already checked: substr() would throw std::out_of_range, and
// so bring libstdc++'s throwing code into a firmware built without exceptions.
std::string_view slice(std::string_view text, size_t start, size_t length) {
  return std::string_view(text.data() + start, length);
}

}  // namespace

ObjectWalker::ObjectWalker(std::string_view text) : text_(text) {
  skip_spaces();
  ok_ = take('{');
}

bool ObjectWalker::next(std::string_view* key, std::string_view* value) {
  if (!ok_ || done_) return false;
  skip_spaces();
  if (at_ < text_.size() && text_[at_] == '}') {
    done_ = true;
    return false;
  }
  if (members_ > 0) {
    if (!take(',')) return fail();
    skip_spaces();
  }
  const size_t key_start = at_;
  if (!skip_string()) return fail();
  *key = slice(text_, key_start + 1, at_ - key_start - 2);
  skip_spaces();
  if (!take(':')) return fail();
  skip_spaces();
  const size_t value_start = at_;
  if (!skip_value()) return fail();
  *value = slice(text_, value_start, at_ - value_start);
  ++members_;
  return true;
}

bool ObjectWalker::fail() {
  ok_ = false;
  return false;
}

bool ObjectWalker::take(char c) {
  if (at_ >= text_.size() || text_[at_] != c) return false;
  ++at_;
  return true;
}

void ObjectWalker::skip_spaces() {
  while (at_ < text_.size() && is_space(text_[at_])) ++at_;
}

bool ObjectWalker::skip_string() {
  if (!take('"')) return false;
  while (at_ < text_.size()) {
    const char c = text_[at_++];
    if (c == '"') return true;
    if (c == '\\') ++at_;  // the escaped character, whatever it is
  }
  return false;
}

// One value; objects and arrays by counting brackets outside strings.
bool ObjectWalker::skip_value() {
  if (at_ >= text_.size()) return false;
  const char first = text_[at_];
  if (first == '"') return skip_string();
  if (first == '{' || first == '[') {
    size_t depth = 0;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '"') {
        if (!skip_string()) return false;
        continue;
      }
      ++at_;
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return true;
    }
    return false;
  }
  const size_t start = at_;  // a number or a literal: up to the next delimiter
  while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}' && text_[at_] != ']' &&
         !is_space(text_[at_]))
    ++at_;
  return at_ > start;
}

bool read_unsigned(std::string_view value, uint64_t* out) {
  if (value.empty() || value.size() > 19) return false;
  uint64_t number = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = number;
  return true;
}

bool read_plain_string(std::string_view value, std::string_view* contents) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return false;
  const std::string_view inside = slice(value, 1, value.size() - 2);
  if (std::memchr(inside.data(), '\\', inside.size()) != nullptr) return false;
  *contents = inside;
  return true;
}

}  // namespace onenet::lite_json
