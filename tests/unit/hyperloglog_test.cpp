#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "orderpulse/common/hash.h"
#include "orderpulse/state/hyperloglog.h"

namespace orderpulse {
namespace {

// 3 standard errors of a 2^14-register sketch (1.04 / 128 = 0.81%).
constexpr double kBound = 3 * 1.04 / 128;

TEST(HyperLogLog, ErrorWithinBoundFrom100To1e6) {
  for (std::uint64_t n : {100ull, 1'000ull, 10'000ull, 50'000ull, 100'000ull, 1'000'000ull}) {
    HyperLogLog h;
    for (std::uint64_t i = 0; i < n; ++i) {
      h.add(stable_hash("customer-" + std::to_string(i)));
      h.add(stable_hash("customer-" + std::to_string(i / 2)));  // repeats must not count
    }
    const double err = std::abs(static_cast<double>(h.estimate()) - static_cast<double>(n)) / static_cast<double>(n);
    EXPECT_LE(err, kBound) << "n=" << n << " estimate=" << h.estimate();
  }
}

TEST(HyperLogLog, ExactWhileSmall) {
  HyperLogLog h;
  for (int i = 0; i < static_cast<int>(HyperLogLog::kExactLimit); ++i) h.add(stable_hash(std::to_string(i)));
  EXPECT_TRUE(h.is_exact());
  EXPECT_EQ(h.estimate(), HyperLogLog::kExactLimit);
}

TEST(HyperLogLog, OrderAndMergeIndependent) {
  // Same set, different insertion order and different split into merged parts: same registers.
  HyperLogLog whole, reversed, a, b;
  const int n = 20'000;
  for (int i = 0; i < n; ++i) whole.add(stable_hash(std::to_string(i)));
  for (int i = n - 1; i >= 0; --i) reversed.add(stable_hash(std::to_string(i)));
  for (int i = 0; i < n; ++i) (i % 3 ? a : b).add(stable_hash(std::to_string(i)));
  a.merge(b);
  EXPECT_EQ(whole.registers(), reversed.registers());
  EXPECT_EQ(whole.registers(), a.registers());
  EXPECT_EQ(whole.estimate(), a.estimate());
  // Small parts merging across the exact limit densify deterministically.
  HyperLogLog s1, s2, s12;
  for (int i = 0; i < 200; ++i) s1.add(stable_hash("x" + std::to_string(i)));
  for (int i = 100; i < 300; ++i) s2.add(stable_hash("x" + std::to_string(i)));
  for (int i = 0; i < 300; ++i) s12.add(stable_hash("x" + std::to_string(i)));
  s1.merge(s2);
  EXPECT_EQ(s1.registers(), s12.registers());
  EXPECT_EQ(s1.estimate(), s12.estimate());
}

}  // namespace
}  // namespace orderpulse
