// URL percent-encoding and strict Base64 (onenet-protocol.md 1.4-1.5).
#include <doctest/doctest.h>

#include <string>

#include "onenet/auth/encoding.hpp"

using onenet::Status;

namespace {

std::string encode(std::string_view text) {
  char out[256];
  const auto n = onenet::auth::url_encode(text, out, sizeof out);
  REQUIRE(n.ok());
  return std::string(out, n.value());
}

std::string decode(std::string_view text) {
  char out[256];
  const auto n = onenet::auth::url_decode(text, out, sizeof out);
  REQUIRE(n.ok());
  return std::string(out, n.value());
}

}  // namespace

TEST_CASE("each character of OneNET's encoding table becomes its uppercase escape") {
  CHECK(encode("+") == "%2B");
  CHECK(encode(" ") == "%20");
  CHECK(encode("/") == "%2F");
  CHECK(encode("?") == "%3F");
  CHECK(encode("%") == "%25");
  CHECK(encode("#") == "%23");
  CHECK(encode("&") == "%26");
  CHECK(encode("=") == "%3D");
}

TEST_CASE("unreserved characters pass through; other bytes are escaped") {
  CHECK(encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(encode("a:b") == "a%3Ab");
  CHECK(encode("\xE4") == "%E4");
  CHECK(onenet::auth::url_encoded_length("a/b+c") == 9);
  char small[4];
  CHECK(onenet::auth::url_encode("a/b", small, sizeof small).status() == Status::kBufferTooSmall);
}

TEST_CASE("url_decode accepts either hex case and rejects broken escapes") {
  CHECK(decode("products%2Fx%2fy") == "products/x/y");
  CHECK(decode("a+b") == "a+b");
  char out[16];
  CHECK(onenet::auth::url_decode("%", out, sizeof out).status() == Status::kAuthTokenBadEncoding);
  CHECK(onenet::auth::url_decode("%2", out, sizeof out).status() == Status::kAuthTokenBadEncoding);
  CHECK(onenet::auth::url_decode("%zz", out, sizeof out).status() == Status::kAuthTokenBadEncoding);
  CHECK(onenet::auth::url_decode("abcdef", out, 3).status() == Status::kBufferTooSmall);
}

TEST_CASE("base64 round-trips every length from 0 to 40 bytes") {
  uint8_t bytes[40];
  for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t n = 1; n <= sizeof bytes; ++n) {
    char text[64];
    const auto written = onenet::auth::base64_encode(onenet::ByteView(bytes, n), text, sizeof text);
    REQUIRE(written.ok());
    CHECK(written.value() == onenet::auth::base64_encoded_length(n));
    uint8_t back[64];
    const auto read =
        onenet::auth::base64_decode(std::string_view(text, written.value()), back, sizeof back);
    REQUIRE(read.ok());
    CHECK(read.value() == n);
    CHECK(std::string(reinterpret_cast<char*>(back), n) ==
          std::string(reinterpret_cast<char*>(bytes), n));
  }
}

TEST_CASE("base64 of a known digest") {
  const uint8_t bytes[] = {'f', 'o', 'o', 'b', 'a'};
  char text[8];
  const auto n = onenet::auth::base64_encode(onenet::ByteView(bytes, 5), text, sizeof text);
  REQUIRE(n.ok());
  CHECK(std::string(text, n.value()) == "Zm9vYmE=");
  CHECK(onenet::auth::base64_encode(onenet::ByteView(bytes, 5), text, 7).status() ==
        Status::kBufferTooSmall);
}
