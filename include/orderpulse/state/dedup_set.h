#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time (full keys are
// compared on a fingerprint match); eviction only drops keys the test would ignore anyway, so
// memory is bounded by the horizon and results do not depend on when eviction runs.
//
// Keys live in two generations of open-addressing tables: new keys go to the current one; when
// every key of the previous one has expired, it is cleared and becomes the current one. Eviction
// thus never copies a key.
//
// Every record probes both tables, and on this kind of machine a random read beyond a few MiB of
// working set costs ~150 ns (measured: 15 ns up to 3 MiB, 140 ns from 4 MiB) unless it was
// prefetched in time. So the part a probe reads is two bytes per slot: a fingerprint of the hash
// (0 = empty), 8 to a group compared at once; a generation of a million keys takes 2-4 MiB of them.
// A slot's entry index (4 bytes, written once per new key, its line prefetched for writing) and
// the entries themselves (time, line and order id, appended to an arena) are read only when
// a fingerprint matches: for a new key about once in 10^4.
// Fingerprints and entry indexes sit in copy-on-write chunks and entries are never written again
// once appended (a refreshed time appends a new entry), so a checkpoint freezes the set without
// copying it. Engine thread only; a Frozen view may be read on any thread.

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "orderpulse/common/time.h"
#include "orderpulse/event/event.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/cow_chunks.h"

namespace orderpulse {

namespace dedup_detail {

// Slots are probed a group at a time, from the first slot of the hash's group: a search for a new
// key, the common case, then ends in the one group that was prefetched unless it is full.
inline constexpr std::size_t kGroup = 8;

inline std::size_t home(std::uint64_t hash, std::size_t mask) { return hash & mask & ~(kGroup - 1); }

// From the hash's top bits, so independent of the slot (its low bits); never 0, which marks empty.
// 16 bits: a new key passes about 6 occupied slots, and with 8-bit fingerprints one search in 40
// matched one of them by chance and paid two cache misses to rule it out.
inline std::uint16_t fingerprint_of(std::uint64_t hash) {
  const auto f = static_cast<std::uint16_t>(hash >> 48);
  return f == 0 ? 1 : f;
}

// Bit 2k stands for slot k of the group (the SSE2 byte mask of 16-bit lanes, one bit of each pair kept).
struct GroupMasks {
  unsigned match;  // slots holding the fingerprint, before the first empty one
  unsigned empty;  // empty slots
};

inline std::size_t slot_in_group(unsigned bits) { return static_cast<std::size_t>(__builtin_ctz(bits)) / 2; }

inline GroupMasks scan_group(const std::uint16_t* group, std::uint16_t fingerprint) {
  unsigned match = 0, empty = 0;
#if defined(__SSE2__)
  const __m128i g = _mm_loadu_si128(reinterpret_cast<const __m128i*>(group));
  match = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi16(g, _mm_set1_epi16(static_cast<short>(fingerprint))))) & 0x5555u;
  empty = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi16(g, _mm_setzero_si128()))) & 0x5555u;
#else
  for (std::size_t k = 0; k < kGroup; ++k) {
    match |= unsigned{group[k] == fingerprint} << (2 * k);
    empty |= unsigned{group[k] == 0} << (2 * k);
  }
#endif
  // Slots fill in order from the group's start and are never emptied one by one, so a key is
  // always before the first empty slot.
  if (empty != 0) match &= (empty & (0u - empty)) - 1;
  return {match, empty};
}

}  // namespace dedup_detail

class DedupSet {
  // An entry in the arena, by byte offset: the event time (8 bytes), the line (4), the order id's
  // length (2) and its bytes, padded to kAlign: 24 bytes for a 10-byte id. The key's hash is not
  // kept: a probe reaches an entry only through a matching 16-bit fingerprint, and growth, which
  // is rare, hashes the key again. Every new key writes its entry, and a smaller one means fewer
  // fresh pages to fault in and less memory traffic.
  static constexpr std::size_t kTimeAt = 0, kLineAt = 8, kLengthAt = 12, kIdAt = 14;
  static constexpr std::size_t kAlign = 8;
  struct Entry {
    TimestampMs time;
    std::int32_t line;
    std::string_view order_id;  // in the arena
  };
  static constexpr std::size_t kArenaChunk = std::size_t{2} << 20;  // one huge page
  using Fingerprints = CowChunks<std::uint16_t, 15>;
  using Entries = CowChunks<std::uint32_t, 14>;  // the entry of each slot, in kAlign units

 public:
  // The longest order id an entry can hold (its length takes 2 bytes). Validated ids are far
  // shorter (kMaxIdLength); only damaged checkpoint data can bring a longer one.
  static constexpr std::size_t kMaxKeyBytes = UINT16_MAX;

  // The set as a checkpoint holds it.
  struct Frozen {
    struct Table {
      Fingerprints::Frozen fingerprints;
      Entries::Frozen entries;
      std::vector<std::shared_ptr<const char[]>> arena;
    };
    Table current, previous;
  };

  // `horizon`: how far back keys count (Admission's dedup horizon). Only sizing uses it: with it, a
  // first generation that must grow is sized for the keys one horizon will bring (see
  // growth_capacity()); 0 grows it by doubling.
  explicit DedupSet(DurationMs horizon = 0) : horizon_(horizon) {}

  // The most slots a projection may size a table for at once (2 MiB of fingerprints, 4 MiB of
  // entry indexes); past it a table doubles. A projection from a few seconds of keys can be far off,
  // so what it can cost is bounded.
  static constexpr std::size_t kProjectionLimit = std::size_t{1} << 20;

  // Brings in what seen_or_insert(hash, ...) will read, and the slot a new key would be written
  // to, so that a record a few places ahead finds them in the cache.
  void prefetch(std::uint64_t hash) const {
    current_.prefetch(hash, true);
    previous_.prefetch(hash, false);
  }

  // True when the key is held with an event time >= min_time (a duplicate). Otherwise the key is
  // stored (or refreshed) with time `t` and false is returned. `hash` is dedup_key_hash(order_id, line).
  bool seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                      TimestampMs min_time) {
    // Nearly every key is new: no group it would be searched in holds its fingerprint. That case
    // is settled here, inline, and the key written where a search would have put it; anything else
    // (a fingerprint seen, a table due to grow) takes the full search.
    const std::uint16_t fingerprint = dedup_detail::fingerprint_of(hash);
    const std::size_t slot = current_.free_if_unseen(hash, fingerprint);
    if (slot != Table::npos && previous_.free_if_unseen(hash, fingerprint) != Table::npos &&
        current_.try_insert_new(slot, fingerprint, order_id, line, t)) [[likely]]
      return false;
    return seen_or_insert_slow(hash, order_id, line, t, min_time);
  }

  // Forgets keys older than min_time, a generation at a time.
  void evict_older_than(TimestampMs min_time);

  std::size_t size() const { return current_.size() + previous_.size(); }
  // Slots of the generation new keys go to (for tests).
  std::size_t capacity() const { return current_.capacity(); }

  Frozen freeze();
  // Writes the keys with time >= min_time (the others can never make a duplicate again).
  static void encode(const Frozen& frozen, TimestampMs min_time, Encoder& out);
  // Replaces the content with encoded keys.
  void decode(Decoder& in);

 private:
  class Table {
   public:
    Table();
    void prefetch(std::uint64_t hash, bool for_insert) const {
      const std::size_t base = dedup_detail::home(hash, mask_);
      fingerprints_.prefetch(base);
      // A new key nearly always lands in its home group, whose entry indexes share one line.
      if (for_insert) entries_.prefetch_for_write(base);
    }
    // The slot holding the key, or npos; then, if `free` is given, the slot an insert would take
    // (the search has just read its group).
    std::size_t find(std::uint64_t hash, std::string_view order_id, std::int32_t line, std::size_t* free = nullptr) const;
    // `slot`: what find() gave as free, with nothing inserted since (npos: search again).
    void insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t, std::size_t slot = npos);
    TimestampMs time_at(std::size_t slot) const {
      TimestampMs t;
      std::memcpy(&t, entry_at(arena_, entries_[slot]) + kTimeAt, sizeof(t));
      return t;
    }
    // A new entry with the later time: entries a checkpoint may hold are never written again.
    void set_time(std::size_t slot, TimestampMs t);
    void clear();
    // Room for n keys without growing (restore knows the count up front).
    void reserve(std::size_t n);
    std::size_t size() const { return size_; }
    std::size_t capacity() const { return fingerprints_.size(); }
    // Whether one more key makes the table grow.
    bool full() const { return over_load(size_ + 1); }
    // Event times of the keys held (kMaxTime, kMinTime: none).
    TimestampMs min_time() const { return min_time_; }
    TimestampMs max_time() const { return max_time_; }
    // Re-slots every key into `capacity` slots (a power of two above the current one).
    void grow(std::size_t capacity);
    Frozen::Table freeze();
    static void for_each(const Frozen::Table& t,
                         const std::function<void(std::string_view, std::int32_t, TimestampMs)>& fn);

    static constexpr std::size_t npos = ~std::size_t{0};

    // The first empty slot from the hash's home group on, where an insert would put the key,
    // provided no group up to it holds the fingerprint; npos otherwise (the key may be held).
    std::size_t free_if_unseen(std::uint64_t hash, std::uint16_t fingerprint) const {
      using namespace dedup_detail;
      // Ends: a table is never full.
      for (std::size_t base = home(hash, mask_);; base = (base + kGroup) & mask_) {
        const GroupMasks m = scan_group(&fingerprints_[base], fingerprint);
        if (m.match != 0) return npos;
        if (m.empty != 0) return base + slot_in_group(m.empty);
      }
    }
    // Writes a key that no search found into `slot`, the first empty slot from its home group on, unless
    // the table is due to grow or the arena's last chunk is full (false then, and nothing changed).
    bool try_insert_new(std::size_t slot, std::uint16_t fingerprint, std::string_view order_id, std::int32_t line,
                        TimestampMs t) {
      const std::size_t need = entry_bytes(order_id.size());
      if (over_load(size_ + 1) || arena_used_ + need > kArenaChunk || order_id.size() > kMaxKeyBytes) [[unlikely]]
        return false;
      fingerprints_.mut(slot) = fingerprint;
      entries_.mut(slot) = write_entry(need, order_id, line, t);
      ++size_;
      note_time(t);
      return true;
    }

   private:
    static std::size_t entry_bytes(std::size_t id_length) { return (kIdAt + id_length + kAlign - 1) / kAlign * kAlign; }
    // Writes an entry of `need` bytes into the last arena chunk, which has room for it.
    std::uint32_t write_entry(std::size_t need, std::string_view order_id, std::int32_t line, TimestampMs t) {
      const std::size_t offset = (arena_.size() - 1) * kArenaChunk + arena_used_;
      char* p = arena_.back().get() + arena_used_;
      // Field by field, straight into the arena: a whole head built on the stack first was read
      // back as one 16-byte word from two 8-byte stores, which missed store forwarding on every new key.
      const auto length = static_cast<std::uint16_t>(order_id.size());
      std::memcpy(p + kTimeAt, &t, sizeof(t));
      std::memcpy(p + kLineAt, &line, sizeof(line));
      std::memcpy(p + kLengthAt, &length, sizeof(length));
      std::memcpy(p + kIdAt, order_id.data(), order_id.size());
      arena_used_ += need;
      return static_cast<std::uint32_t>(offset / kAlign);
    }
    void note_time(TimestampMs t) {
      min_time_ = std::min(min_time_, t);
      max_time_ = std::max(max_time_, t);
    }
    bool over_load(std::size_t n) const { return n * 10 > fingerprints_.size() * 7; }
    // The first empty slot from the hash's group on.
    std::size_t free_slot(std::uint64_t hash) const { return free_if_unseen(hash, 0); }  // 0 is never a fingerprint
    std::uint32_t append_entry(std::string_view order_id, std::int32_t line, TimestampMs t);
    template <typename Arena>
    static const char* entry_at(const Arena& arena, std::uint32_t entry) {
      const std::size_t offset = std::size_t{entry} * kAlign;
      return arena[offset / kArenaChunk].get() + offset % kArenaChunk;
    }
    static Entry read_entry(const char* e);

    Fingerprints fingerprints_;
    Entries entries_;  // parallel to fingerprints_
    std::vector<std::shared_ptr<char[]>> arena_;
    std::vector<std::shared_ptr<char[]>> spare_;  // emptied chunks, reused before new ones
    std::size_t arena_used_ = kArenaChunk;  // bytes used in the last arena chunk
    std::size_t mask_;
    std::size_t size_ = 0;
    TimestampMs min_time_ = kMaxTime;
    TimestampMs max_time_ = kMinTime;
  };

  // The capacity the current generation grows to when it is full.
  std::size_t growth_capacity() const;

  bool seen_or_insert_slow(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                           TimestampMs min_time);

  DurationMs horizon_;
  Table current_;
  Table previous_;
};

}  // namespace orderpulse
