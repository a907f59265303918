#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time (full keys are
// compared on a hash match); eviction only drops keys the test would ignore anyway, so memory is
// bounded by the horizon and results do not depend on when eviction runs.
//
// Keys live in two generations of open-addressing tables: new keys go to the current one; when
// every key of the previous one has expired, it is cleared and becomes the current one. Eviction
// thus never copies a key, a slot is 16 bytes (hash, time) so a probe touches one cache line, and
// callers prefetch the slots of a record a few records ahead. Engine thread only.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/time.h"

namespace orderpulse {

class DedupSet {
 public:
  static std::uint64_t hash_key(std::string_view order_id, std::int32_t line);

  void prefetch(std::uint64_t hash) const {
    current_.prefetch(hash);
    previous_.prefetch(hash);
  }

  // True when the key is held with an event time >= min_time (a duplicate). Otherwise the key is
  // stored (or refreshed) with time `t` and false is returned. `hash` is hash_key(order_id, line).
  bool seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                      TimestampMs min_time);

  // Forgets keys older than min_time, a generation at a time.
  void evict_older_than(TimestampMs min_time);

  std::size_t size() const { return current_.size() + previous_.size(); }

 private:
  class Table {
   public:
    Table();
    void prefetch(std::uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
    // The slot holding the key, or nullptr.
    TimestampMs* find(std::uint64_t hash, std::string_view order_id, std::int32_t line);
    void insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t);
    void note_time(TimestampMs t) { max_time_ = std::max(max_time_, t); }
    void clear();
    std::size_t size() const { return size_; }
    TimestampMs max_time() const { return max_time_; }

   private:
    struct Slot {
      std::uint64_t hash;  // 0 = empty (real hashes are forced non-zero)
      TimestampMs time;
    };
    struct KeyRef {
      std::uint32_t offset;
      std::uint32_t length;  // order_id bytes; the line follows as 4 raw bytes
    };
    void grow();

    std::vector<Slot> slots_;
    std::vector<KeyRef> keys_;  // parallel to slots_
    std::string arena_;
    std::size_t mask_;
    std::size_t size_ = 0;
    TimestampMs max_time_ = kMinTime;
  };

  Table current_;
  Table previous_;
};

}  // namespace orderpulse
