// Internal to src/detect: a small, fast, stable (platform-independent on little-endian
// machines) 64-bit string hash used by the indicator index tables, alert ids and the
// alert de-duplicator. Not cryptographic; not exposed outside src/detect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace aegis::detect::hashing {

inline constexpr uint64_t kSeed = 0x243f6a8885a308d3ULL;  // digits of pi
inline constexpr uint64_t kMulA = 0x9e3779b97f4a7c15ULL;  // golden ratio
inline constexpr uint64_t kMulB = 0xd6e8feb86659fd93ULL;
inline constexpr uint64_t kMulC = 0xc2b2ae3d27d4eb4fULL;

// Multiplies as 128 bits and folds the halves: every input bit reaches most output bits.
inline uint64_t MulFold(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Hashes `n` bytes at `p`, continuing from `state` (chainable: the result may be fed
// back as the state for the next piece).
inline uint64_t HashBytes(const char* p, size_t n, uint64_t state) {
  uint64_t h = MulFold(state ^ kMulC, kMulA ^ n);
  if (n >= 8) {
    const char* const end = p + n;
    while (end - p > 8) {
      h = MulFold(h ^ Load64(p), kMulB);
      p += 8;
    }
    // The last 8 bytes, overlapping the previous word when n is not a multiple of 8.
    return MulFold(h ^ Load64(end - 8), kMulA);
  }
  uint64_t tail;
  if (n >= 4) {
    tail = (Load32(p) << 32) | Load32(p + n - 4);
  } else if (n > 0) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    tail = (uint64_t{u[0]} << 16) | (uint64_t{u[n / 2]} << 8) | uint64_t{u[n - 1]};
  } else {
    tail = 0;
  }
  return MulFold(h ^ tail, kMulB);
}

inline uint64_t HashBytes(std::string_view s, uint64_t state = kSeed) {
  return HashBytes(s.data(), s.size(), state);
}

inline uint64_t HashU64(uint64_t v, uint64_t state) { return MulFold(state ^ v ^ kMulC, kMulB); }

// Final avalanche before the value is used to pick a table slot.
inline uint64_t Finish(uint64_t h) { return MulFold(h ^ (h >> 29), kMulA) ^ h; }

// The 32-bit table hash of a finished 64-bit hash.
inline uint32_t Hash32(uint64_t h) { return static_cast<uint32_t>(Finish(h) >> 32); }

}  // namespace aegis::detect::hashing
