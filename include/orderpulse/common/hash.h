#pragma once
// A fixed, seedless 64-bit hash (XXH3) for everything whose result must be identical across
// runs and machines: HyperLogLog registers, dedup keys. Never std::hash or absl::Hash here:
// those may be salted per process.

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace orderpulse {

inline std::uint64_t stable_hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

inline std::uint64_t stable_hash(std::string_view s, std::uint64_t seed) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

}  // namespace orderpulse
