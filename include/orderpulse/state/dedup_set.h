#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time (full keys are
// compared on a hash match); eviction only drops keys the test would ignore anyway, so memory is
// bounded by the horizon and results do not depend on when eviction runs.
//
// Keys live in two generations of open-addressing tables: new keys go to the current one; when
// every key of the previous one has expired, it is cleared and becomes the current one. Eviction
// thus never copies a key. The tables are far larger than the caches and every record probes
// both, so a slot is 8 bytes (a 32-bit tag of the hash and where the key's entry is) and the
// slots sit on huge pages: a new key costs one cache line per table, which callers prefetch a few
// records ahead, and nothing else at random. Entries (time, line, order id) are appended to an
// arena and read only when a tag matches, which for a new key happens about once in 2^32 probes.
// Slots sit in copy-on-write chunks and entries are never written again once appended (a
// refreshed time appends a new entry), so a checkpoint freezes the set without copying it.
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
    std::uint32_t tag;    // the hash's high half, never 0 (0 marks an empty slot)
    std::uint32_t entry;  // the key's entry in the arena, in kAlign units
  };
  // An entry: this head, then `length` order id bytes, padded to kAlign.
  struct EntryHead {
    TimestampMs time;
    std::int32_t line;
    std::uint32_t length;
  };
  static constexpr std::size_t kAlign = alignof(EntryHead);
  static constexpr std::size_t kArenaChunk = 1 << 20;
  static constexpr unsigned kSlotChunkBits = 18;  // 2 MiB of slots: one huge page
  using Slots = CowChunks<Slot, kSlotChunkBits>;

 public:
  // The set as a checkpoint holds it.
  struct Frozen {
    struct Table {
      Slots::Frozen slots;
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
    void prefetch(std::uint64_t hash) const { slots_.prefetch(hash & mask_ & ~std::uint64_t{7}); }
    // The index of the slot holding the key, or npos.
    std::size_t find(std::uint64_t hash, std::string_view order_id, std::int32_t line) const;
    void insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t);
    TimestampMs time_at(std::size_t i) const { return head(slots_[i].entry).time; }
    // A new entry with the later time: entries a checkpoint may hold are never written again.
    void set_time(std::size_t i, TimestampMs t);
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
    bool over_load(std::size_t n) const { return n * 10 > slots_.size() * 7; }
    std::uint32_t append_entry(std::string_view order_id, std::int32_t line, TimestampMs t);
    template <typename Arena>
    static const char* entry_at(const Arena& arena, std::uint32_t entry) {
      const std::size_t offset = std::size_t{entry} * kAlign;
      return arena[offset / kArenaChunk].get() + offset % kArenaChunk;
    }
    EntryHead head(std::uint32_t entry) const;

    Slots slots_;
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
