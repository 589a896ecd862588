#include "md5.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "onenet/provision/api_client.hpp"

namespace onenet::provision {
namespace detail {
namespace {

// T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4.
const uint32_t* sine_table() {
  static const auto table = [] {
    std::array<uint32_t, 64> t{};
    for (size_t i = 0; i < t.size(); ++i) {
      t[i] = static_cast<uint32_t>(
          std::floor(std::fabs(std::sin(static_cast<double>(i + 1))) * 4294967296.0));
    }
    return t;
  }();
  return table.data();
}

uint32_t rotate_left(uint32_t x, int n) {
  return (x << n) | (x >> (32 - n));
}

}  // namespace

void Md5::update(const uint8_t* data, size_t size) {
  length_ += size;
  while (size > 0) {
    const size_t take = std::min(size, sizeof block_ - used_);
    std::memcpy(block_ + used_, data, take);
    used_ += take;
    data += take;
    size -= take;
    if (used_ == sizeof block_) {
      compress(block_);
      used_ = 0;
    }
  }
}

// Padding (section 3.1-3.2): 0x80, zeros to 56 bytes of a block, the length in bits (64-bit,
// little-endian). The digest is the state, little-endian (section 3.5).
std::string Md5::digest() {
  const uint64_t bits = length_ * 8;
  const uint8_t pad = 0x80;
  update(&pad, 1);
  const uint8_t zero = 0;
  while (used_ != 56) update(&zero, 1);
  uint8_t tail[8];
  for (int i = 0; i < 8; ++i) tail[i] = static_cast<uint8_t>(bits >> (8 * i));
  update(tail, 8);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const uint32_t word : state_) {
    for (int i = 0; i < 4; ++i) {
      const auto byte = static_cast<uint8_t>(word >> (8 * i));
      hex += kHex[byte >> 4];
      hex += kHex[byte & 15];
    }
  }
  return hex;
}

// One 64-byte block: four rounds of sixteen steps (section 3.4).
void Md5::compress(const uint8_t* block) {
  static const int kShift[4][4] = {
      {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};
  const uint32_t* const t = sine_table();
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
    const uint32_t rotated = rotate_left(a + f + t[i] + m[g], kShift[i / 16][i % 4]);
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

}  // namespace detail

std::string md5_hex(std::string_view bytes) {
  detail::Md5 md5;
  md5.update(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return md5.digest();
}

}  // namespace onenet::provision
