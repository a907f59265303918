#pragma once
// Slices of event time (panes) holding partial aggregates; every window spec is answered by
// merging the panes it covers, so each record updates exactly one pane whatever the number of
// specs. Owns the panes; product and category ids come from the ProductDirectory. Engine thread
// only. A checkpoint freezes the panes by sharing them; the next write to a shared pane copies
// that pane first (only the newest one or two panes still receive records, so few are copied), and
// the bulk of a pane, its product sums, is itself copied a shard at a time.

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/event/event.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/hyperloglog.h"

namespace orderpulse {

struct ProductAgg {
  Cents revenue = 0;
  std::int64_t items = 0;
};

// Counters and the customer sketch of a set of order lines: part of a pane, of a window being
// merged, and the running totals since start.
struct Totals {
  std::int64_t lines = 0;
  std::int64_t items = 0;
  std::int64_t orders = 0;
  Cents revenue = 0;
  HyperLogLog customers;

  void add(const Event& e, std::uint64_t customer_hash);
  void merge(const Totals& other);
  void clear();
  void encode(Encoder& out) const;
  void decode(Decoder& in);
};

// What copy-on-write cost the engine thread, for the checkpoint probe.
struct CowStats {
  std::uint64_t pane_copies = 0;  // panes and product shards copied
  double pane_copy_seconds = 0;
  double longest_pane_copy_seconds = 0;  // the longest single copy: the pause it caused

  void note(double seconds) {
    ++pane_copies;
    pane_copy_seconds += seconds;
    longest_pane_copy_seconds = std::max(longest_pane_copy_seconds, seconds);
  }
};

// Per-product sums of a pane, split into shards by product id. A copy shares the shards and
// copies each one only when it is first written: the copy a checkpoint forces on the newest pane
// then costs one shard at a time (a few hundred microseconds with a million products) instead of
// the whole pane at once.
class ProductShards {
 public:
  static constexpr std::uint32_t kShards = 16;
  using Map = absl::flat_hash_map<std::uint32_t, ProductAgg>;

  ProductShards() = default;
  ProductShards(const ProductShards& other) : shards_(other.shards_) { shared_.fill(true); }
  ProductShards& operator=(const ProductShards&) = delete;

  ProductAgg& at(std::uint32_t id, CowStats& cow) {
    const std::uint32_t s = id % kShards;
    if (!shards_[s]) {
      shards_[s] = std::make_shared<Map>();
    } else if (shared_[s]) [[unlikely]] {
      const auto begin = std::chrono::steady_clock::now();
      shards_[s] = std::make_shared<Map>(*shards_[s]);
      cow.note(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    }
    shared_[s] = false;
    return (*shards_[s])[id];
  }
  // Restore only (no checkpoint holds a freshly decoded pane).
  ProductAgg& operator[](std::uint32_t id) {
    CowStats unused;
    return at(id, unused);
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& shard : shards_)
      if (shard)
        for (const auto& [id, agg] : *shard) fn(id, agg);
  }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& shard : shards_) n += shard ? shard->size() : 0;
    return n;
  }

 private:
  std::array<std::shared_ptr<Map>, kShards> shards_;
  std::array<bool, kShards> shared_{};
};

// A pane: its totals plus revenue per product and per category (by ProductDirectory ids).
struct Aggregate {
  Totals totals;
  ProductShards products;
  absl::flat_hash_map<std::uint32_t, Cents> categories;

  void add(const Event& e, std::uint64_t customer_hash, CowStats& cow);
  void encode(Encoder& out) const;
  // `products` and `categories` bound the ids a valid checkpoint can hold.
  void decode(Decoder& in, std::size_t products, std::size_t categories);
};

class PaneStore {
 public:
  struct Slot {
    std::shared_ptr<Aggregate> agg;
    bool shared = false;  // a checkpoint holds it: copy before writing
  };
  using Panes = std::map<TimestampMs, Slot>;
  using Frozen = std::vector<std::pair<TimestampMs, std::shared_ptr<const Aggregate>>>;

  explicit PaneStore(DurationMs pane_size) : pane_size_(pane_size) {}

  DurationMs pane_size() const { return pane_size_; }
  TimestampMs pane_start(TimestampMs t) const { return floor_to(t, pane_size_); }
  Aggregate& pane_for(TimestampMs t);
  // Adds an accepted record to its pane.
  void add(const Event& e, std::uint64_t customer_hash) { pane_for(e.event_time).add(e, customer_hash, cow_); }

  const Panes& panes() const { return panes_; }
  void erase(Panes::const_iterator it);

  Frozen freeze();
  static void encode(const Frozen& frozen, Encoder& out);
  void decode(Decoder& in, std::size_t products, std::size_t categories);
  const CowStats& cow_stats() const { return cow_; }

  static TimestampMs floor_to(TimestampMs t, DurationMs unit) {
    const TimestampMs q = t / unit;
    return (t % unit < 0 ? q - 1 : q) * unit;
  }

 private:
  DurationMs pane_size_;
  Panes panes_;
  // Records mostly arrive near the newest pane: remember it to skip the tree lookup.
  TimestampMs cached_start_ = kMinTime;
  Aggregate* cached_ = nullptr;
  CowStats cow_;
};

}  // namespace orderpulse
