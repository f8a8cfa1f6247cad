#pragma once
// A small per-owner PRNG (wyrand) for victim selection and select's random
// choice: not cryptographic, just cheap and well distributed.

#include <cstdint>

namespace goro {

class fast_rand {
 public:
  explicit fast_rand(uint64_t seed = 0x9E3779B97F4A7C15ull) noexcept : s_(seed) {}
  uint64_t next() noexcept {
    s_ += 0xa0761d6478bd642full;
    __uint128_t t = static_cast<__uint128_t>(s_) * (s_ ^ 0xe7037ed1a0b428dbull);
    return static_cast<uint64_t>(t >> 64) ^ static_cast<uint64_t>(t);
  }
  /// Uniform in [0, n), n > 0 (Lemire's multiply-shift, negligible bias).
  uint32_t below(uint32_t n) noexcept {
    return static_cast<uint32_t>((static_cast<uint64_t>(static_cast<uint32_t>(next())) * n) >> 32);
  }

 private:
  uint64_t s_;
};

}  // namespace goro
