#pragma once
// A fixed, seedless 64-bit hash (XXH3) for everything whose result must be identical across
// runs and machines: HyperLogLog registers, dedup keys. Never std::hash or absl::Hash here:
// those may be salted per process.

// Inlined: most keys are 10-40 bytes, where a call into the shared library costs more than the
// hash itself. The algorithm and so the values are the same.
#define XXH_INLINE_ALL
// GCC 12 warns inside its own AVX-512 intrinsics when they are inlined here; the AVX2 kernel only
// matters for the long inputs (checkpoint checksums) and is as fast for them.
#if defined(__AVX512F__) && !defined(XXH_VECTOR)
#define XXH_VECTOR 2  // XXH_AVX2
#endif
#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace orderpulse {

inline std::uint64_t stable_hash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

inline std::uint64_t stable_hash(std::string_view s, std::uint64_t seed) {
  return XXH3_64bits_withSeed(s.data(), s.size(), seed);
}

}  // namespace orderpulse
