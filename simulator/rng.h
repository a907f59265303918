#pragma once
// Reproducible randomness. Every random stream is an explicitly seeded Rng value, so one --seed
// gives byte-identical output on every platform and standard library. That is why nothing here
// uses std:: distributions (their algorithms are implementation-defined) or libm's exp/log/pow
// (results may differ in the last bit between C libraries): det_log/det_exp use only IEEE basic
// operations plus the exact frexp/ldexp.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace orderpulse::sim {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman and Vigna). Owns only its 256-bit state.
class Rng {
 public:
  // `stream` separates independent sequences drawn from one user seed (catalog vs. events), so
  // changing how many events are drawn never changes the catalog.
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) {
    std::uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (auto& word : s_) word = splitmix64(s);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n) by Lemire's multiply-shift; the bias (below n / 2^64) is irrelevant here
  // and skipping rejection keeps the number of draws per call fixed.
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }

  // Uniform integer in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  // Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return unit() < p; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

inline constexpr double kLn2 = 0.6931471805599453094;

// Natural log for x > 0: reduce to m in [sqrt(1/2), sqrt(2)), then 2*atanh((m-1)/(m+1)).
inline double det_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752) {
    m *= 2.0;
    --e;
  }
  const double z = (m - 1.0) / (m + 1.0);
  const double z2 = z * z;
  double sum = 0.0;
  for (int k = 27; k >= 1; k -= 2) sum = sum * z2 + 1.0 / k;
  return 2.0 * z * sum + e * kLn2;
}

// e^x for moderate x: x = n*ln2 + r with |r| <= ln2/2, Taylor series for e^r.
inline double det_exp(double x) {
  const double n = std::floor(x / kLn2 + 0.5);
  const double r = x - n * kLn2;
  double sum = 1.0;
  for (int k = 20; k >= 1; --k) sum = 1.0 + sum * r / k;
  return std::ldexp(sum, static_cast<int>(n));
}

// Zipf popularity over ranks 0..n-1 (weight of rank k is (k+1)^-s). Owns the cumulative
// weights; sampling is one binary search.
class ZipfSampler {
 public:
  ZipfSampler(std::size_t n, double s) : cdf_(std::max<std::size_t>(n, 1)) {
    double total = 0.0;
    for (std::size_t k = 0; k < cdf_.size(); ++k) {
      total += det_exp(-s * det_log(static_cast<double>(k + 1)));
      cdf_[k] = total;
    }
  }

  // Equivalent to std::upper_bound, but branchless (the ternary becomes a cmov): the draws are
  // random, so a branchy search mispredicts about every other step and dominated generation.
  std::size_t sample(Rng& rng) const {
    const double u = rng.unit() * cdf_.back();
    const double* base = cdf_.data();
    std::size_t n = cdf_.size();
    while (n > 1) {
      const std::size_t half = n / 2;
      base = base[half] <= u ? base + half : base;
      n -= half;
    }
    const auto index = static_cast<std::size_t>(base - cdf_.data()) + (*base <= u ? 1 : 0);
    return std::min(index, cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace orderpulse::sim
