// Tokens: every vector of onenet-protocol.md section 1.8 and every failure mode.
#include <doctest/doctest.h>

#include <string>

#include "onenet/auth/token.hpp"
#include "onenet/platform/hmac.hpp"

using onenet::Status;
using onenet::auth::Method;
using onenet::auth::TokenRequest;

namespace {

constexpr const char* kKey1 = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";
constexpr const char* kDeviceRes = "products/Ck2AF9QD2K/devices/test";

std::string sign(const TokenRequest& request,
                 onenet::port::HmacFunction hmac = onenet::platform::default_hmac()) {
  char out[512];
  const auto written = onenet::auth::sign_token(request, hmac, out, sizeof out);
  REQUIRE_MESSAGE(written.ok(), onenet::to_string(written.status()));
  return std::string(out, written.value());
}

TokenRequest request(const char* key, const char* res, uint64_t et, Method method,
                     const char* version = "2018-10-31") {
  TokenRequest r;
  r.access_key = key;
  r.resource = res;
  r.expires_at = et;
  r.method = method;
  r.version = version;
  return r;
}

std::string sign_of(const std::string& token) {
  return token.substr(token.find("&sign=") + 6);
}

}  // namespace

TEST_CASE("token vectors V1-V3 and V5 (K1, device res) match byte for byte") {
  const std::string prefix =
      "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200&method=";
  CHECK(sign(request(kKey1, kDeviceRes, 32472115200, Method::kMd5)) ==
        prefix + "md5&sign=htDD26UhXtXayMFAWRmNiA%3D%3D");
  CHECK(sign(request(kKey1, kDeviceRes, 32472115200, Method::kSha1)) ==
        prefix + "sha1&sign=onzQlILHFFNqIY%2BdOXYM3lthLT8%3D");
  CHECK(sign(request(kKey1, kDeviceRes, 32472115200, Method::kSha256)) ==
        prefix + "sha256&sign=6Y4zbk3Sa89tRf9lMxCCE0jG74uEcEuu%2Fnly1pU9ADM%3D");
  CHECK(sign(request(kKey1, kDeviceRes, 32472115200, Method::kSha256, "2022-05-01")) ==
        "version=2022-05-01&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200&method="
        "sha256&sign=N41Pmx3YpLyOoc9jtyCFPJX1etO8MxfcCr7xHYw40ws%3D");
}

TEST_CASE("token vector V4: an upper-case MD5 method verifies with the case it was signed with") {
  const std::string token =
      "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200&method=MD5"
      "&sign=y215sMm9evP3NThz5QRsiA%3D%3D";
  onenet::auth::ParsedToken parsed;
  CHECK(onenet::auth::verify_token(token, kKey1, 1700000000, onenet::platform::default_hmac(),
                                   &parsed) == Status::kOk);
  CHECK(parsed.method == Method::kMd5);
  CHECK(parsed.method_text == "MD5");
}

TEST_CASE("token vectors V6 and V7: an 11-byte key with non-zero Base64 pad bits") {
  CHECK(sign_of(sign(request("adfasdfadsfadsf=", "products/12342334/devices/test", 32472115200,
                             Method::kMd5))) == "wZWDnoyHugla0wMlcl75xg%3D%3D");
  CHECK(sign_of(sign(request("adfasdfadsfadsf=", "products/12342334/devices/test", 32472115200,
                             Method::kSha1))) == "FHt8BqSNGv0VEJKbHN4zod6a69Q%3D");
}

TEST_CASE("token vector V8: user-level res, unpadded 32-character key") {
  CHECK(sign(request("720e323b10d54d3a8cdbe5dd4e641052", "userid/511932", 1770000000, Method::kSha1,
                     "2022-05-01")) ==
        "version=2022-05-01&res=userid%2F511932&et=1770000000&method=sha1&sign="
        "xRvkt1q2HU7quic8C8xb28%2BdrQ4%3D");
}

TEST_CASE("derived vectors D1-D3: product and user resources") {
  CHECK(sign_of(sign(request(kKey1, "products/Ck2AF9QD2K", 1700000000, Method::kSha1))) ==
        "3C81sbyItVGrMOxPXonppd9fFOg%3D");
  CHECK(sign_of(sign(request(kKey1, "products/Ck2AF9QD2K", 1700000000, Method::kSha256,
                             "2022-05-01"))) == "dePTK3NXfW2dhhlTa1cTxTm9m6N2x20%2Fqpx4QzR0tzs%3D");
  CHECK(sign_of(sign(request(kKey1, "userid/12321", 1700000000, Method::kMd5, "2022-05-01"))) ==
        "rRJpKc7QzEy23bk6KUL4Qw%3D%3D");
}

#if defined(ONENET_HAVE_MBEDTLS_HMAC)
TEST_CASE("the mbedTLS HMAC port signs the same tokens as OpenSSL") {
  for (const Method m : {Method::kMd5, Method::kSha1, Method::kSha256}) {
    const TokenRequest r = request(kKey1, kDeviceRes, 32472115200, m);
    CHECK(sign(r, &onenet::platform::mbedtls_hmac) == sign(r));
  }
}
#endif

TEST_CASE("token_length is exact and a buffer one byte short is refused") {
  const TokenRequest r = request(kKey1, kDeviceRes, 32472115200, Method::kSha256);
  const auto length = onenet::auth::token_length(r, onenet::platform::default_hmac());
  REQUIRE(length.ok());
  CHECK(length.value() == sign(r).size());
  CHECK(length.value() <= onenet::auth::max_token_length(r.resource.size(), r.version.size()));

  char out[512];
  CHECK(
      onenet::auth::sign_token(r, onenet::platform::default_hmac(), out, length.value()).status() ==
      Status::kBufferTooSmall);
  CHECK(out[0] == '\0');  // a refused buffer holds no partial token
  CHECK(
      onenet::auth::sign_token(r, onenet::platform::default_hmac(), out, length.value() + 1).ok());
  CHECK(onenet::auth::sign_token(r, onenet::platform::default_hmac(), nullptr, 0).status() ==
        Status::kBufferTooSmall);
}

TEST_CASE("bad keys each get their own status") {
  char out[512];
  const auto hmac = onenet::platform::default_hmac();
  auto status_for = [&](const char* key) {
    return onenet::auth::sign_token(request(key, kDeviceRes, 1, Method::kMd5), hmac, out,
                                    sizeof out)
        .status();
  };
  CHECK(status_for("") == Status::kAuthEmptyKey);
  CHECK(status_for("abc") == Status::kAuthMalformedKey);       // not a multiple of 4
  CHECK(status_for("ab!d") == Status::kAuthMalformedKey);      // outside the alphabet
  CHECK(status_for("a=bc") == Status::kAuthMalformedKey);      // padding inside
  CHECK(status_for("ab==abcd") == Status::kAuthMalformedKey);  // padding before the end
  CHECK(status_for("a===") == Status::kAuthMalformedKey);      // three pad characters
  CHECK(status_for("====") == Status::kAuthMalformedKey);      // nothing but padding
  CHECK(status_for("a===") == Status::kAuthMalformedKey);      // three pad characters
  CHECK(status_for("abc ") == Status::kAuthMalformedKey);      // trailing space
  CHECK(status_for("KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=\n") == Status::kAuthMalformedKey);
  const std::string long_key(200, 'A');
  CHECK(status_for(long_key.c_str()) == Status::kAuthKeyTooLong);
}

TEST_CASE("bad resources and versions are refused before signing") {
  const auto hmac = onenet::platform::default_hmac();
  char out[512];
  for (const char* res : {"", "products", "products/", "/products/x", "products//devices/x",
                          "products/p/devices", "products/p q", "products/p\n"}) {
    CAPTURE(res);
    CHECK(onenet::auth::sign_token(request(kKey1, res, 1, Method::kMd5), hmac, out, sizeof out)
              .status() == Status::kAuthResourceInvalid);
  }
  const std::string too_long = "products/" + std::string(300, 'a');
  CHECK(onenet::auth::sign_token(request(kKey1, too_long.c_str(), 1, Method::kMd5), hmac, out,
                                 sizeof out)
            .status() == Status::kAuthResourceInvalid);
  for (const char* version :
       {"", "2018 10 31", "2018/10/31", "0123456789012345678901234567890123"}) {
    CAPTURE(version);
    CHECK(onenet::auth::sign_token(request(kKey1, kDeviceRes, 1, Method::kMd5, version), hmac, out,
                                   sizeof out)
              .status() == Status::kAuthVersionInvalid);
  }
}

TEST_CASE("method names parse case-insensitively; anything else is an unknown method") {
  CHECK(onenet::auth::parse_method("sha256").value() == Method::kSha256);
  CHECK(onenet::auth::parse_method("SHA1").value() == Method::kSha1);
  CHECK(onenet::auth::parse_method("Md5").value() == Method::kMd5);
  for (const char* bad : {"", "sha512", "hmacsha1", "sm2", "md"}) {
    CAPTURE(bad);
    CHECK(onenet::auth::parse_method(bad).status() == Status::kAuthUnknownMethod);
  }
}

TEST_CASE("a token round-trips through verify and its fields come back decoded") {
  const TokenRequest r = request(kKey1, kDeviceRes, 2000000000, Method::kSha1);
  const std::string token = sign(r);
  onenet::auth::ParsedToken parsed;
  REQUIRE(onenet::auth::verify_token(token, kKey1, 1700000000, onenet::platform::default_hmac(),
                                     &parsed) == Status::kOk);
  CHECK(parsed.resource_view() == kDeviceRes);
  CHECK(parsed.expires_at == 2000000000);
  CHECK(parsed.version == "2018-10-31");
  CHECK(parsed.method == Method::kSha1);
  CHECK(parsed.signature_length == 20);
}

TEST_CASE("et is written in decimal across the whole uint64_t range, and verifies") {
  // Every 16-bit limb edge of the hand-written division, and both ends of the range.
  const uint64_t values[] = {0,
                             9,
                             10,
                             65535,
                             65536,
                             4294967295u,
                             4294967296u,
                             281474976710655u,
                             281474976710656u,
                             1234567890123456789u,
                             10000000000000000000u,
                             18446744073709551615u};
  for (const uint64_t et : values) {
    CAPTURE(et);
    const std::string token = sign(request(kKey1, kDeviceRes, et, Method::kSha256));
    CHECK(token.find("&et=" + std::to_string(et) + "&") != std::string::npos);
    onenet::auth::ParsedToken parsed;
    const Status verified =
        onenet::auth::verify_token(token, kKey1, 0, onenet::platform::default_hmac(), &parsed);
    REQUIRE(verified == Status::kOk);
    CHECK(parsed.expires_at == et);
  }
}

TEST_CASE("verification failures each get their own status") {
  const auto hmac = onenet::platform::default_hmac();
  const std::string token = sign(request(kKey1, kDeviceRes, 2000000000, Method::kSha256));
  const auto verify = [&](const std::string& t, uint64_t now = 1700000000,
                          const char* key = kKey1) {
    return onenet::auth::verify_token(t, key, now, hmac);
  };

  SUBCASE("expired et") {
    CHECK(verify(token, 2000000001) == Status::kAuthTokenExpired);
  }
  SUBCASE("et equal to now is still valid") {
    CHECK(verify(token, 2000000000) == Status::kOk);
  }
  SUBCASE("wrong key") {
    CHECK(verify(token, 1700000000, "adfasdfadsfadsf=") == Status::kAuthTokenBadSignature);
  }
  SUBCASE("tampered sign") {
    std::string tampered = token;
    const size_t at = tampered.find("&sign=") + 6;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    CHECK(verify(tampered) == Status::kAuthTokenBadSignature);
  }
  SUBCASE("tampered et keeps the signature but no longer matches") {
    std::string tampered = token;
    tampered.replace(tampered.find("et=2000000000"), 13, "et=2000000009");
    CHECK(verify(tampered) == Status::kAuthTokenBadSignature);
  }
  SUBCASE("tampered res") {
    std::string tampered = token;
    tampered.replace(tampered.find("test"), 4, "tesu");
    CHECK(verify(tampered) == Status::kAuthTokenBadSignature);
  }
  SUBCASE("reordered fields") {
    const size_t et_at = token.find("&et=");
    const size_t method_at = token.find("&method=");
    std::string reordered =
        token.substr(0, et_at) + token.substr(method_at, token.find("&sign=") - method_at) +
        token.substr(et_at, method_at - et_at) + token.substr(token.find("&sign="));
    CHECK(verify(reordered) == Status::kAuthTokenFieldOrder);
  }
  SUBCASE("each missing field") {
    for (const char* field : {"version=", "&res=", "&et=", "&method=", "&sign="}) {
      CAPTURE(field);
      const size_t start = token.find(field);
      size_t end = token.find('&', start + 1);
      if (end == std::string::npos) end = token.size();
      std::string missing = token;
      missing.erase(start, end - start);
      if (!missing.empty() && missing[0] == '&') missing.erase(0, 1);
      CHECK(verify(missing) == Status::kAuthTokenFieldMissing);
    }
  }
  SUBCASE("repeated or unknown field, empty value") {
    CHECK(verify(token + "&et=1") == Status::kAuthTokenMalformed);
    CHECK(verify(token + "&extra=1") == Status::kAuthTokenMalformed);
    CHECK(verify("version=&res=a%2Fb&et=1&method=md5&sign=AAAA") == Status::kAuthTokenMalformed);
    CHECK(verify("") == Status::kAuthTokenFieldMissing);
    CHECK(verify("garbage") == Status::kAuthTokenMalformed);
  }
  SUBCASE("bad escapes and encodings") {
    std::string bad = token;
    bad.replace(bad.find("%2F"), 3, "%2G");
    CHECK(verify(bad) == Status::kAuthTokenBadEncoding);
    CHECK(verify(token.substr(0, token.size() - 2)) == Status::kAuthTokenBadEncoding);
  }
  SUBCASE("et that is not a number") {
    std::string bad = token;
    bad.replace(bad.find("et=2000000000"), 13, "et=20000x0000");
    CHECK(verify(bad) == Status::kAuthTokenBadExpiry);
    bad = token;
    bad.replace(bad.find("et=2000000000"), 13, "et=99999999999999999999999");
    CHECK(verify(bad) == Status::kAuthTokenBadExpiry);
  }
  SUBCASE("unknown method") {
    std::string bad = token;
    bad.replace(bad.find("method=sha256"), 13, "method=sha512");
    CHECK(verify(bad) == Status::kAuthUnknownMethod);
  }
  SUBCASE("a sign of the wrong length for its method") {
    std::string bad = token;
    bad.replace(bad.find("method=sha256"), 13, "method=md5");
    CHECK(verify(bad) == Status::kAuthTokenBadSignLength);
    bad = token;
    bad.replace(bad.find("method=sha256"), 13, "method=sha1");
    CHECK(verify(bad) == Status::kAuthTokenBadSignLength);
  }
  SUBCASE("lower-case hex escapes are accepted, as .NET emits them") {
    std::string lower = token;
    for (size_t at = lower.find("%2F"); at != std::string::npos; at = lower.find("%2F")) {
      lower.replace(at, 3, "%2f");
    }
    CHECK(verify(lower) == Status::kOk);
  }
}

TEST_CASE("expires_within answers when to renew") {
  CHECK_FALSE(onenet::auth::expires_within(2000, 1000, 500));
  CHECK(onenet::auth::expires_within(2000, 1500, 500));
  CHECK(onenet::auth::expires_within(2000, 1600, 500));
  CHECK(onenet::auth::expires_within(2000, 2000, 0));
  CHECK(onenet::auth::expires_within(2000, 3000, 10));  // already expired
}

TEST_CASE("device_resource builds products/{pid}/devices/{name}") {
  char out[128];
  const auto n = onenet::auth::device_resource("Ck2AF9QD2K", "test", out, sizeof out);
  REQUIRE(n.ok());
  CHECK(std::string(out, n.value()) == kDeviceRes);
  CHECK(onenet::auth::device_resource("P", "a/b", out, sizeof out).status() ==
        Status::kAuthResourceInvalid);
  CHECK(onenet::auth::device_resource("", "d", out, sizeof out).status() ==
        Status::kAuthResourceInvalid);
  CHECK(onenet::auth::device_resource("P", "D", out, 16).status() == Status::kBufferTooSmall);
  // "products/P/devices/D" is 20 characters: 21 bytes with the terminator.
  CHECK(onenet::auth::device_resource("P", "D", out, 20).status() == Status::kBufferTooSmall);
  CHECK(onenet::auth::device_resource("P", "D", out, 21).value() == 20);
  CHECK(std::string(out) == "products/P/devices/D");
}
