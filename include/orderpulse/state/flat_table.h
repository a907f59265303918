#pragma once
// A hash table from an integer key to a small value, for keys that are either hashes already or
// dense ids (customer hashes, product ids): linear probing over one array of slots, so a lookup
// usually touches one cache line (the table fills to 7/8, below) and a caller can prefetch that
// line records ahead. The alerts' customer sums outgrow the caches, and the absl map they lived in
// offered a prefetch that GCC 12 compiled to nothing. Iteration follows the slots, so it depends
// only on the keys inserted and the room reserved, never on a per-process seed. That order is the
// hash's order: never insert one table's keys into another in it (the new table's first slots
// would take them all, one long probe each); sort them first.
// Owned by one CowShards shard; one thread at a time.

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "orderpulse/common/prefetch.h"

namespace orderpulse {

template <typename Key, typename Value>
class FlatTable {
  static_assert(std::is_unsigned_v<Key>);
  // Key 0 marks an empty slot; a real key 0 is kept aside.
  struct Slot {
    Key key = 0;
    Value value{};
  };

 public:
  // The value of `key`, inserted as Value{} when new.
  Value& operator[](Key key) {
    if (key == 0 || size_ >= grow_at_) [[unlikely]] {
      if (key == 0) return zero();
      grow();
    }
    for (std::size_t i = index(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) {
        s.key = key;
        ++size_;
        return s.value;
      }
    }
  }

  // The line `key` would be found in. Fetched for reading, although every lookup here updates its
  // value: with no other core sharing the line it arrives exclusive anyway, and in interleaved
  // pairs a write prefetch (prefetchw) cost 1-2% more of batch mode's one-core time.
  void prefetch(Key key) const {
    if (slots_.empty()) return;
    const Slot* slot = &slots_[index(key)];
    prefetch_read(slot);
    // A slot that does not divide the line size straddles two lines now and then: fetch its end
    // too (the same line, and no second fetch, for the others).
    if constexpr (64 % sizeof(Slot) != 0) prefetch_read(reinterpret_cast<const char*>(slot + 1) - 1);
  }

  template <typename Fn>
  void for_each(Fn&& fn) const {
    if (zero_) fn(Key{0}, *zero_);
    for (const Slot& s : slots_)
      if (s.key != 0) fn(s.key, s.value);
  }

  std::size_t size() const { return size_; }

  // Room for n keys without growing: a table that will fill as its predecessor did skips the
  // rehashes of growing there.
  void reserve(std::size_t n) {
    std::size_t capacity = slots_.empty() ? 16 : slots_.size();
    while (over_load(n, capacity)) capacity *= 2;
    if (capacity != slots_.size()) rehash(capacity);
  }

 private:
  // Fibonacci hashing: the top bits of key * 2^64/phi spread dense ids and keep hashes spread.
  std::size_t index(Key key) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  // Up to 7/8 full. The tables read for every record are large and read at random, and a smaller
  // table misses the cache less often than a fuller one probes further: against 3/4, 7/8 took
  // 0.97-0.98 of batch mode's one-core CPU (interleaved pairs); 1/2 took 1.024. (Line-aligned
  // homes, which keep a short probe in one line, took 1.01.)
  static std::size_t max_keys(std::size_t capacity) { return capacity / 8 * 7; }
  static bool over_load(std::size_t keys, std::size_t capacity) { return keys > max_keys(capacity); }

  [[gnu::noinline]] void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }
  Value& zero() {
    if (!zero_) {
      zero_.emplace();
      ++size_;
    }
    return *zero_;
  }

  void rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    mask_ = capacity - 1;
    grow_at_ = max_keys(capacity);
    const std::size_t mask = mask_;
    for (Slot& s : old) {
      if (s.key == 0) continue;
      std::size_t i = index(s.key);
      while (slots_[i].key != 0) i = (i + 1) & mask;
      slots_[i] = std::move(s);
    }
  }

  std::vector<Slot> slots_;
  // Kept beside the slots so a lookup reads no vector bounds: the customer and product tables are
  // looked up for every record.
  std::size_t mask_ = 0;
  std::size_t grow_at_ = 0;  // size_ at which the next insert grows the table first
  unsigned shift_ = 64;
  std::size_t size_ = 0;
  std::optional<Value> zero_;
};

}  // namespace orderpulse
