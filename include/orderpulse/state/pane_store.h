#pragma once
// Slices of event time (panes) holding partial aggregates; every window spec is answered by
// merging the panes it covers, so each record updates exactly one pane whatever the number of
// specs. Owns the panes; product and category ids come from the ProductDirectory. Engine thread
// only. A checkpoint freezes the panes by sharing them; the next write to a shared pane copies
// that pane first (only the newest one or two panes still receive records, so few are copied), and
// the bulk of a pane, its product sums, is itself copied a shard at a time.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "orderpulse/common/money.h"
#include "orderpulse/common/time.h"
#include "orderpulse/event/event.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/flat_table.h"
#include "orderpulse/state/hyperloglog.h"
#include "orderpulse/state/spill_shards.h"

namespace orderpulse {

// A product's sums in a pane, as readers see them.
struct ProductAgg {
  CentsSum revenue = 0;
  std::int64_t items = 0;
  void add(Cents r, std::int32_t quantity) {
    revenue += r;
    items += quantity;
  }
};

// A product's sums packed into 12 bytes (64-bit revenue, 32-bit items; aligned to 4): with its id a
// table slot is 16 bytes, four to a cache line. The product tables of the newest pane are read for
// every record, and the 24-byte slots this replaced cost about 2% more of batch mode's one-core
// time. A product selling 2^32 - 1 items or more in one pane (some 430k lines of the largest
// quantity), or for 2^63 cents or more (923 lines of the largest quantity and price), moves whole
// to the pane's side map (SpillShards), exact; the slot then only says so.
class PackedProductAgg {
 public:
  using Wide = ProductAgg;
  static constexpr std::uint32_t kSpilled = UINT32_MAX;  // in `items_`: the sums are on the side

  bool spilled() const { return items_ == kSpilled; }
  ProductAgg get() const { return ProductAgg{revenue(), items_}; }
  bool try_add(Cents r, std::int32_t quantity) {
    const std::int64_t items = std::int64_t{items_} + quantity;
    Cents revenue_sum;
    if (quantity < 0 || items >= kSpilled || __builtin_add_overflow(revenue(), r, &revenue_sum)) return false;
    items_ = static_cast<std::uint32_t>(items);
    set_revenue(revenue_sum);
    return true;
  }
  void mark_spilled() { items_ = kSpilled; }
  static bool fits(const ProductAgg& w) {
    return w.items >= 0 && w.items < kSpilled && w.revenue >= INT64_MIN && w.revenue <= INT64_MAX;
  }
  static PackedProductAgg packed(const ProductAgg& w) {
    PackedProductAgg p;
    p.set_revenue(static_cast<Cents>(w.revenue));
    p.items_ = static_cast<std::uint32_t>(w.items);
    return p;
  }

 private:
  // Bytes rather than a Cents, which would align the slot to 8 (24 bytes again); memcpy compiles
  // to one unaligned load or store.
  Cents revenue() const {
    Cents r;
    std::memcpy(&r, revenue_, sizeof r);
    return r;
  }
  void set_revenue(Cents r) { std::memcpy(revenue_, &r, sizeof r); }
  unsigned char revenue_[sizeof(Cents)] = {};
  std::uint32_t items_ = 0;
};
static_assert(sizeof(PackedProductAgg) == 12);

// Counters and the customer sketch of a set of order lines: part of a pane, and the running totals
// since start. (A window's sums are PaneSums.)
struct Totals {
  std::int64_t lines = 0;
  std::int64_t items = 0;
  std::int64_t orders = 0;
  CentsSum revenue = 0;
  HyperLogLog customers;

  void add(const Event& e, std::uint64_t customer_hash) {
    ++lines;
    items += e.quantity;
    orders += e.line == 1 ? 1 : 0;
    revenue += e.revenue();
    customers.add(customer_hash);
  }
  void clear();
  void encode(Encoder& out) const;
  void decode(Decoder& in);
};

// Per-product sums of a pane, by ProductDirectory id. Sharded copy-on-write (SpillShards over
// CowShards): a checkpoint's copy of the newest pane is then paid a shard at a time.
using ProductShards = SpillShards<std::uint32_t, PackedProductAgg>;

// A pane: its totals plus revenue per product and per category (by ProductDirectory ids).
struct Aggregate {
  Totals totals;
  ProductShards products;
  // By category id: a plain id-keyed table, read for every record (the abseil map it replaced
  // hashed and probed with more instructions per record).
  FlatTable<std::uint32_t, CentsSum> categories;

  void add(const Event& e, std::uint64_t customer_hash, CowStats& cow) {
    totals.add(e, customer_hash);
    products.add(e.product_ref, cow, e.revenue(), e.quantity);
    categories[e.category_ref] += e.revenue();
  }
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
  // Inline, with no division for most records: they fall in the pane of the one before.
  Aggregate& pane_for(TimestampMs t) { return in_cached(t) ? *cached_ : find_pane(t); }
  // Adds an accepted record to its pane.
  void add(const Event& e, std::uint64_t customer_hash) { pane_for(e.event_time).add(e, customer_hash, cow_); }
  // Brings the record's product sums towards the cache when it falls in the pane of the records
  // before it (nearly always): a pane of 10k products outgrows the caches.
  void prefetch(const Event& e) const {
    if (in_cached(e.event_time)) cached_->products.prefetch(e.product_ref);
  }

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
  Aggregate& find_pane(TimestampMs t);  // creating it, or copying it from a checkpoint's hold
  bool in_cached(TimestampMs t) const { return cached_ && t >= cached_start_ && t - cached_start_ < pane_size_; }

  // Records mostly arrive near the newest pane: remember it to skip the tree lookup.
  TimestampMs cached_start_ = kMinTime;
  Aggregate* cached_ = nullptr;
  CowStats cow_;
};

}  // namespace orderpulse
