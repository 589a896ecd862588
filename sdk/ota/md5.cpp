#include "onenet/ota/md5.hpp"

#include <cstring>

namespace onenet::ota {
namespace {

// T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4, written out so that a firmware
// needs neither libm nor a guarded static to build it at run time.
constexpr uint32_t kSineTable[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

constexpr uint8_t kShift[4][4] = {
    {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

uint32_t rotate_left(uint32_t x, int n) {
  return (x << n) | (x >> (32 - n));
}

}  // namespace

void Md5::update(const uint8_t* data, size_t size) {
  length_ += size;
  while (size > 0) {
    const size_t room = sizeof block_ - used_;
    const size_t take = size < room ? size : room;
    std::memcpy(block_ + used_, data, take);
    used_ += static_cast<uint32_t>(take);
    data += take;
    size -= take;
    if (used_ == sizeof block_) {
      compress(block_);
      used_ = 0;
    }
  }
}

// Padding (section 3.1-3.2): 0x80, zeros to 56 bytes of a block, the length in bits (64-bit,
// little-endian). The digest is the state, little-endian (section 3.5). Done on a copy, so the
// caller's running state goes on.
void Md5::hex_digest(char* hex) const {
  Md5 last = *this;
  const uint64_t bits = length_ * 8;
  const uint8_t pad = 0x80;
  last.update(&pad, 1);
  const uint8_t zero = 0;
  while (last.used_ != 56) last.update(&zero, 1);
  uint8_t tail[8];
  for (int i = 0; i < 8; ++i) tail[i] = static_cast<uint8_t>(bits >> (8 * i));
  last.update(tail, 8);
  static const char kHex[] = "0123456789abcdef";
  for (int word = 0; word < 4; ++word) {
    for (int i = 0; i < 4; ++i) {
      const auto byte = static_cast<uint8_t>(last.state_[word] >> (8 * i));
      *hex++ = kHex[byte >> 4];
      *hex++ = kHex[byte & 15];
    }
  }
  *hex = '\0';
}

// One 64-byte block: four rounds of sixteen steps (section 3.4).
void Md5::compress(const uint8_t* block) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) {
    m[i] = uint32_t{block[4 * i]} | uint32_t{block[4 * i + 1]} << 8 |
           uint32_t{block[4 * i + 2]} << 16 | uint32_t{block[4 * i + 3]} << 24;
  }
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (int i = 0; i < 64; ++i) {
    uint32_t f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const uint32_t rotated = rotate_left(a + f + kSineTable[i] + m[g], kShift[i / 16][i % 4]);
    a = d;
    d = c;
    c = b;
    b = b + rotated;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

}  // namespace onenet::ota
