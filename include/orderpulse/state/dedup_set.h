#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time (full keys are
// compared on a hash match); eviction only drops keys the test would ignore anyway, so memory is
// bounded by the horizon and results do not depend on when eviction runs.
//
// A purpose-built open-addressing table rather than a general hash map: a slot is 16 bytes (hash,
// time) so a lookup touches one cache line, callers can prefetch the slot of a record a few
// records ahead, and eviction rebuilds the table and key arena in one sequential pass.
// Engine thread only.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/time.h"

namespace orderpulse {

class DedupSet {
 public:
  DedupSet();

  static std::uint64_t hash_key(std::string_view order_id, std::int32_t line);

  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }

  // True when the key is held with an event time >= min_time (a duplicate). Otherwise the key is
  // stored (or refreshed) with time `t` and false is returned. `hash` is hash_key(order_id, line).
  bool seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                      TimestampMs min_time);

  // Drops keys older than min_time; cheap to call often: it scans only when min_time has moved by
  // at least `step` since the last scan.
  void evict_older_than(TimestampMs min_time, DurationMs step);

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return slots_.capacity() * (sizeof(Slot) + sizeof(KeyRef)) + arena_.capacity(); }

 private:
  struct Slot {
    std::uint64_t hash;  // 0 = empty (real hashes are forced non-zero)
    TimestampMs time;
  };
  struct KeyRef {
    std::uint32_t offset;
    std::uint32_t length;  // order_id bytes; the line follows as 4 raw bytes
  };

  bool key_equals(const KeyRef& k, std::string_view order_id, std::int32_t line) const;
  KeyRef store_key(std::string& arena, std::string_view order_id, std::int32_t line) const;
  void rebuild(std::size_t capacity, TimestampMs min_time);

  std::vector<Slot> slots_;
  std::vector<KeyRef> keys_;  // parallel to slots_
  std::string arena_;
  std::vector<Slot> spare_slots_;
  std::vector<KeyRef> spare_keys_;
  std::string spare_arena_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  TimestampMs last_evicted_ = kMinTime;
};

}  // namespace orderpulse
