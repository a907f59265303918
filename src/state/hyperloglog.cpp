#include "orderpulse/state/hyperloglog.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace orderpulse {
namespace {

double sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1.0;
  double z = x;
  while (true) {
    x *= x;
    const double z_old = z;
    z += x * y;
    y += y;
    if (z == z_old) return z;
  }
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  while (true) {
    x = std::sqrt(x);
    const double z_old = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == z_old) return z / 3.0;
  }
}

}  // namespace

void HyperLogLog::add_exact(std::uint64_t hash) {
  auto it = std::lower_bound(exact_.begin(), exact_.end(), hash);
  if (it != exact_.end() && *it == hash) return;
  exact_.insert(it, hash);
  if (exact_.size() > kExactLimit) densify();
}

void HyperLogLog::densify() {
  dense_.assign(kRegisters, 0);
  for (std::uint64_t h : exact_) add_dense(h);
  exact_.clear();
  exact_.shrink_to_fit();
}

void HyperLogLog::merge(const HyperLogLog& other) {
  if (other.dense_.empty()) {
    if (dense_.empty()) {
      std::vector<std::uint64_t> merged;
      merged.reserve(exact_.size() + other.exact_.size());
      std::set_union(exact_.begin(), exact_.end(), other.exact_.begin(), other.exact_.end(),
                     std::back_inserter(merged));
      exact_ = std::move(merged);
      if (exact_.size() > kExactLimit) densify();
    } else {
      for (std::uint64_t h : other.exact_) add_dense(h);
    }
    return;
  }
  if (dense_.empty()) densify();
  for (std::uint32_t i = 0; i < kRegisters; ++i) dense_[i] = std::max(dense_[i], other.dense_[i]);
}

std::uint64_t HyperLogLog::estimate() const {
  if (dense_.empty()) return exact_.size();
  int counts[kRankBits + 2] = {};
  for (std::uint8_t r : dense_) ++counts[r];
  const double m = kRegisters;
  double z = m * tau(1.0 - counts[kRankBits + 1] / m);
  for (int k = kRankBits; k >= 1; --k) z = 0.5 * (z + counts[k]);
  z += m * sigma(counts[0] / m);
  constexpr double kAlphaInf = 0.5 / 0.69314718055994530942;  // 1 / (2 ln 2)
  return static_cast<std::uint64_t>(std::llround(kAlphaInf * m * m / z));
}

void HyperLogLog::clear() {
  exact_.clear();
  dense_.clear();
}

void HyperLogLog::encode(Encoder& out) const {
  if (dense_.empty()) {
    out.u8(0);
    out.varint(exact_.size());
    for (std::uint64_t h : exact_) out.u64(h);
  } else {
    out.u8(1);
    out.bytes(dense_.data(), dense_.size());
  }
}

void HyperLogLog::decode(Decoder& in) {
  clear();
  if (in.u8() == 0) {
    const std::size_t n = in.count(8);
    if (n > kExactLimit) throw CodecError("sketch: too many exact hashes");
    exact_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) exact_.push_back(in.u64());
    if (!std::is_sorted(exact_.begin(), exact_.end())) throw CodecError("sketch: hashes out of order");
  } else {
    const std::string_view regs = in.bytes(kRegisters);
    dense_.assign(regs.begin(), regs.end());
  }
}

}  // namespace orderpulse
