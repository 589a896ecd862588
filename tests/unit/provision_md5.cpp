// provision::md5_hex, the digest OTA packages are checked with (written here, RFC 1321): the
// RFC's test suite (appendix A.5) and lengths around the 56-byte padding boundary.
#include <doctest/doctest.h>

#include <string>

#include "onenet/provision/api_client.hpp"

using onenet::provision::md5_hex;

TEST_CASE("md5_hex: RFC 1321's test suite") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  std::string eighty_digits;
  for (int i = 0; i < 8; ++i) eighty_digits += "1234567890";
  CHECK(md5_hex(eighty_digits) == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5_hex: lengths around a block's padding boundary, and a million bytes") {
  // Values from Python's hashlib.md5 of "a" * n.
  CHECK(md5_hex(std::string(55, 'a')) == "ef1772b6dff9a122358552954ad0df65");
  CHECK(md5_hex(std::string(56, 'a')) == "3b0c8ac703f828b04c6c197006d17218");
  CHECK(md5_hex(std::string(63, 'a')) == "b06521f39153d618550606be297466d5");
  CHECK(md5_hex(std::string(64, 'a')) == "014842d480b571495a4a0363793f7367");
  CHECK(md5_hex(std::string(1000000, 'a')) == "7707d6ae4e027c70eea2a935c2296f21");
}
