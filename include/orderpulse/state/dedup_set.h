#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time (full keys are
// compared on a hash match); eviction only drops keys the test would ignore anyway, so memory is
// bounded by the horizon and results do not depend on when eviction runs.
//
// Keys live in two generations of open-addressing tables: new keys go to the current one; when
// every key of the previous one has expired, it is cleared and becomes the current one. Eviction
// thus never copies a key, a slot is 16 bytes (hash, time) so a probe touches one cache line, and
// callers prefetch the slots of a record a few records ahead. Slots sit in copy-on-write chunks
// and key bytes in an append-only arena, so a checkpoint freezes the set without copying it.
// Engine thread only; a Frozen view may be read on any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/event/event.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/cow_chunks.h"

namespace orderpulse {

class DedupSet {
  struct Slot {
    std::uint64_t hash;  // 0 = empty (real hashes are forced non-zero)
    TimestampMs time;
  };
  struct KeyRef {
    std::uint32_t offset;  // in the arena: chunk index * kArenaChunk + position
    std::uint32_t length;  // order_id bytes; the line follows as 4 raw bytes
  };
  static constexpr std::size_t kArenaChunk = 1 << 20;

 public:

  // The set as a checkpoint holds it.
  struct Frozen {
    struct Table {
      CowChunks<Slot>::Frozen slots;
      CowChunks<KeyRef>::Frozen keys;
      std::vector<std::shared_ptr<const char[]>> arena;
    };
    Table current, previous;
  };

  void prefetch(std::uint64_t hash) const {
    current_.prefetch(hash);
    previous_.prefetch(hash);
  }

  // True when the key is held with an event time >= min_time (a duplicate). Otherwise the key is
  // stored (or refreshed) with time `t` and false is returned. `hash` is dedup_key_hash(order_id, line).
  bool seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                      TimestampMs min_time);

  // Forgets keys older than min_time, a generation at a time.
  void evict_older_than(TimestampMs min_time);

  std::size_t size() const { return current_.size() + previous_.size(); }

  Frozen freeze();
  // Writes the keys with time >= min_time (the others can never make a duplicate again).
  static void encode(const Frozen& frozen, TimestampMs min_time, Encoder& out);
  // Replaces the content with encoded keys.
  void decode(Decoder& in);

 private:
  class Table {
   public:
    Table();
    void prefetch(std::uint64_t hash) const { slots_.prefetch(hash & mask_); }
    // The index of the slot holding the key, or npos.
    std::size_t find(std::uint64_t hash, std::string_view order_id, std::int32_t line) const;
    void insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t);
    TimestampMs time_at(std::size_t i) const { return slots_[i].time; }
    void set_time(std::size_t i, TimestampMs t) {
      slots_.mut(i).time = t;
      note_time(t);
    }
    void clear();
    // Room for n keys without growing (restore knows the count up front).
    void reserve(std::size_t n);
    std::size_t size() const { return size_; }
    TimestampMs max_time() const { return max_time_; }
    Frozen::Table freeze();
    static void for_each(const Frozen::Table& t,
                         const std::function<void(std::string_view, std::int32_t, TimestampMs)>& fn);

    static constexpr std::size_t npos = ~std::size_t{0};

   private:
    void note_time(TimestampMs t) { max_time_ = std::max(max_time_, t); }
    void grow();
    KeyRef store_key(std::string_view order_id, std::int32_t line);
    const char* key_bytes(KeyRef k) const { return arena_[k.offset / kArenaChunk].get() + k.offset % kArenaChunk; }

    CowChunks<Slot> slots_;
    CowChunks<KeyRef> keys_;  // parallel to slots_
    std::vector<std::shared_ptr<char[]>> arena_;
    std::size_t arena_used_ = kArenaChunk;  // bytes used in the last arena chunk
    std::size_t mask_;
    std::size_t size_ = 0;
    TimestampMs max_time_ = kMinTime;
  };

  Table current_;
  Table previous_;
};

}  // namespace orderpulse
