// What a random read costs on this machine, by working-set size, and how many misses it overlaps.
// The engine's large tables (the dedup set, the customer sums) are read at random; whether a read
// is an L3 hit or a trip to memory decides what shrinking a table can buy. A VM shares its L3
// with other tenants, so the size where reads turn slow is measured here rather than taken from
// the CPU's data sheet.
//
// Each measure follows `chains` independent pointer chains through a random cyclic permutation of
// 64-byte nodes (on huge pages where the kernel grants them, so TLB misses stay out of it).
// One chain gives the latency; many give the throughput of overlapped misses. Prints JSON lines.

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

struct alignas(64) Node {
  std::uint64_t next;
  char pad[56];
};

struct Block {
  Node* nodes;
  std::size_t count;
};

Block make_cycle(std::size_t bytes, std::mt19937_64& rng) {
  const std::size_t count = bytes / sizeof(Node);
  const std::size_t rounded = (count * sizeof(Node) + (2u << 20) - 1) / (2u << 20) * (2u << 20);
  auto* nodes = static_cast<Node*>(std::aligned_alloc(2u << 20, rounded));
  if (nodes == nullptr) std::abort();
  (void)madvise(nodes, rounded, MADV_HUGEPAGE);
  std::vector<std::uint64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i = 0; i < count; ++i) nodes[order[i]].next = order[(i + 1) % count];
  return {nodes, count};
}

// Nanoseconds per read with `chains` chains walked in lockstep.
double ns_per_read(const Block& b, int chains, std::size_t reads) {
  std::uint64_t at[64];
  for (int c = 0; c < chains; ++c) at[c] = (b.count / static_cast<std::size_t>(chains)) * static_cast<std::size_t>(c);
  const std::size_t steps = reads / static_cast<std::size_t>(chains);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t s = 0; s < steps; ++s)
    for (int c = 0; c < chains; ++c) at[c] = b.nodes[at[c]].next;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::uint64_t sink = 0;
  for (int c = 0; c < chains; ++c) sink += at[c];
  if (sink == ~std::uint64_t{0}) std::puts("");  // keeps the walk from being optimised away
  return secs * 1e9 / static_cast<double>(steps * static_cast<std::size_t>(chains));
}

}  // namespace

int main() {
  std::mt19937_64 rng(42);
  constexpr std::size_t kReads = 20'000'000;
  for (const std::size_t mib : {1, 2, 4, 8, 16, 32, 64}) {
    const Block b = make_cycle(mib << 20, rng);
    std::printf("{\"working_set_mib\":%zu,\"chains\":1,\"ns_per_read\":%.1f}\n", mib, ns_per_read(b, 1, kReads / 4));
    std::free(b.nodes);
  }
  const Block big = make_cycle(std::size_t{64} << 20, rng);
  for (const int chains : {2, 4, 8, 16, 32})
    std::printf("{\"working_set_mib\":64,\"chains\":%d,\"ns_per_read\":%.1f}\n", chains, ns_per_read(big, chains, kReads));
  std::free(big.nodes);
  return 0;
}
