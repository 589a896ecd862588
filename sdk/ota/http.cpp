#include "http.hpp"

#include <cstring>

#include "onenet/json_walker.hpp"

namespace onenet::ota::detail {
namespace {

// A view cut by hand over bounds already checked: substr() would throw std::out_of_range, and
// so bring libstdc++'s throwing code into a firmware built without exceptions.
std::string_view slice(std::string_view text, size_t start, size_t length) {
  return std::string_view(text.data() + start, length);
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_name(std::string_view a, std::string_view b) {  // field names are case-insensitive
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  for (size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (same_name(std::string_view(text.data() + i, word.size()), word)) return true;
  }
  return false;
}

std::string_view trimmed(std::string_view text) {
  size_t first = 0, last = text.size();
  while (first < last && (text[first] == ' ' || text[first] == '\t')) ++first;
  while (last > first && (text[last - 1] == ' ' || text[last - 1] == '\t')) --last;
  return std::string_view(text.data() + first, last - first);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "HTTP/1.x NNN" and an optional reason phrase.
bool read_status_line(std::string_view line, int* status) {
  if (line.size() < 12 || std::memcmp(line.data(), "HTTP/1.", 7) != 0 || !is_digit(line[7]) ||
      line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]))
    return false;
  if (line.size() > 12 && line[12] != ' ') return false;
  *status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  return *status >= 100 && *status <= 599;
}

// One field line of the head (its CR already cut off).
bool read_field(std::string_view line, ResponseHead* head) {
  // A line that starts with white space continues the one before (obsolete folding, RFC 9112
  // section 5.2): no server of this API sends one, and reading it wrongly could misframe.
  if (line.empty() || line[0] == ' ' || line[0] == '\t') return false;
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view name(line.data(), colon);
  const std::string_view value = trimmed(slice(line, colon + 1, line.size() - colon - 1));
  if (same_name(name, "content-length")) {
    uint64_t length = 0;
    if (!lite_json::read_unsigned(value, &length)) return false;
    if (head->has_length && head->length != length) return false;
    head->has_length = true;
    head->length = length;
  } else if (same_name(name, "transfer-encoding")) {
    if (!same_name(value, "chunked")) return false;  // no compression was asked for
    head->chunked = true;
  } else if (same_name(name, "content-type")) {
    head->json = contains_ignoring_case(value, "json");
  } else if (same_name(name, "content-range")) {
    // "bytes FIRST-LAST/LENGTH" (RFC 9110 section 14.4); only FIRST is needed.
    if (value.size() < 7 || !same_name(slice(value, 0, 6), "bytes ")) return false;
    const std::string_view range = slice(value, 6, value.size() - 6);
    const size_t dash = range.find('-');
    if (dash == std::string_view::npos ||
        !lite_json::read_unsigned(slice(range, 0, dash), &head->range_first))
      return false;
    head->has_range = true;
  }
  return true;
}

}  // namespace

size_t head_length(std::string_view bytes) {
  for (size_t i = 1; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (bytes[i - 1] == '\n') return i + 1;
    if (i >= 2 && bytes[i - 1] == '\r' && bytes[i - 2] == '\n') return i + 1;
  }
  return 0;
}

bool parse_response_head(std::string_view head, ResponseHead* out) {
  *out = ResponseHead();
  bool first = true;
  size_t at = 0;
  while (at < head.size()) {
    const size_t end = head.find('\n', at);
    if (end == std::string_view::npos) return false;  // head_length() would not have ended here
    std::string_view line = slice(head, at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      if (!read_status_line(line, &out->status)) return false;
      first = false;
    } else if (line.empty()) {
      return at == head.size();
    } else if (!read_field(line, out)) {
      return false;
    }
  }
  return false;
}

BodyDecoder::BodyDecoder(Framing framing, uint64_t length) : framing_(framing) {
  left_ = length;
  if (framing == Framing::kChunked) {
    state_ = State::kChunkSize;
    left_ = 0;
  } else if (framing == Framing::kLength && length == 0) {
    state_ = State::kDone;
  } else {
    state_ = State::kData;
  }
}

size_t BodyDecoder::decode(uint8_t* bytes, size_t size) {
  size_t out = 0;
  size_t at = 0;
  // After a chunk's size line: its data, or the trailer after the last (empty) chunk.
  auto size_read = [this] {
    state_ = left_ == 0 ? State::kTrailer : State::kData;
    line_empty_ = true;
  };
  while (at < size && state_ != State::kDone && state_ != State::kFailed) {
    if (state_ == State::kData) {
      size_t take = size - at;
      if (framing_ != Framing::kUntilClose && take > left_) take = static_cast<size_t>(left_);
      std::memmove(bytes + out, bytes + at, take);
      out += take;
      at += take;
      if (framing_ == Framing::kUntilClose) continue;
      left_ -= take;
      if (left_ == 0) state_ = framing_ == Framing::kChunked ? State::kChunkDataEnd : State::kDone;
      continue;
    }
    const uint8_t c = bytes[at++];
    switch (state_) {
      case State::kChunkSize: {
        const int digit = hex_value(c);
        if (digit >= 0 && size_digits_ < 15) {  // 15 hex digits cannot overflow 64 bits
          left_ = left_ * 16 + static_cast<uint64_t>(digit);
          ++size_digits_;
        } else if (digit >= 0 || size_digits_ == 0) {
          state_ = State::kFailed;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kChunkExtension;
        } else if (c == '\r') {
          state_ = State::kChunkSizeEnd;
        } else if (c == '\n') {
          size_read();
        } else {
          state_ = State::kFailed;
        }
        break;
      }
      case State::kChunkExtension:  // skipped: this client asks for none
        if (c == '\n') size_read();
        break;
      case State::kChunkSizeEnd:
        if (c == '\n') {
          size_read();
        } else {
          state_ = State::kFailed;
        }
        break;
      case State::kChunkDataEnd:
        if (c == '\r' && data_end_seen_ == 0) {
          data_end_seen_ = 1;
        } else if (c == '\n') {
          data_end_seen_ = 0;
          size_digits_ = 0;
          state_ = State::kChunkSize;
        } else {
          state_ = State::kFailed;
        }
        break;
      case State::kTrailer:
        if (c == '\n') {
          if (line_empty_) state_ = State::kDone;
          line_empty_ = true;
        } else if (c != '\r') {
          line_empty_ = false;
        }
        break;
      default:
        state_ = State::kFailed;
        break;
    }
  }
  return out;
}

}  // namespace onenet::ota::detail
