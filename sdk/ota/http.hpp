// Private to sdk/ota: the parts of HTTP/1.1 (RFC 9112) a fuse-ota client reads, heap-free and
// incremental, so that unit tests and the fuzzer can drive them without a transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace onenet::ota::detail {

/// What a response's status line and header fields say about the message that follows.
struct ResponseHead {
  int status = 0;            ///< the status code, 100-599
  bool json = false;         ///< Content-Type names JSON: an envelope, not a package
  bool chunked = false;      ///< Transfer-Encoding: chunked
  bool has_length = false;   ///< Content-Length given (ignored when chunked)
  uint64_t length = 0;       ///< Content-Length
  bool has_range = false;    ///< Content-Range: bytes FIRST-LAST/...
  uint64_t range_first = 0;  ///< its FIRST
};

/// Where the head ends in `bytes`: the count up to and including the empty line that closes it
/// (CRLF CRLF, or LF LF from a lenient server), or 0 when it has not all arrived.
size_t head_length(std::string_view bytes);

/// Reads a head (the text head_length() measured). False when it is not an HTTP/1.x response
/// head this client can read: no status line, a bad status code, a field line without a colon,
/// a Content-Length that is not a number or given twice with different values, or a
/// Transfer-Encoding other than chunked.
bool parse_response_head(std::string_view head, ResponseHead* out);

/// The body's framing (RFC 9112 section 6.3): chunked, a Content-Length, or up to the close of
/// the connection. decode() takes the bytes as they arrive and rewrites them in place to the
/// body bytes they carry, so that a chunked body needs no second buffer.
class BodyDecoder {
 public:
  enum class Framing : uint8_t { kLength, kChunked, kUntilClose };

  explicit BodyDecoder(Framing framing = Framing::kUntilClose, uint64_t length = 0);

  /// Rewrites `bytes[0, size)` to the body bytes among them (in order, from the front) and
  /// returns their count. Bytes after the end of the body are dropped. After failed() or done(),
  /// returns 0.
  size_t decode(uint8_t* bytes, size_t size);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  /// Whether the connection's close ends the body (then a close is not a cut-short answer).
  bool ends_at_close() const { return framing_ == Framing::kUntilClose; }

 private:
  enum class State : uint8_t {
    kData,            // body bytes: `left_` of them (kUntilClose: any number)
    kChunkSize,       // hex digits of a chunk's size
    kChunkExtension,  // ";name=value" or white space up to the line's end
    kChunkSizeEnd,    // the LF after a size line's CR
    kChunkDataEnd,    // the CR LF after a chunk's data
    kTrailer,         // trailer field lines up to an empty one
    kDone,
    kFailed,
  };

  Framing framing_;
  State state_;
  uint64_t left_ = 0;          // bytes left in the body (kLength) or in the chunk
  uint8_t size_digits_ = 0;    // hex digits read of the chunk size
  uint8_t data_end_seen_ = 0;  // of the CR LF after a chunk's data
  bool line_empty_ = true;     // kTrailer: nothing but CR so far on this line
};

}  // namespace onenet::ota::detail
