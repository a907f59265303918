#pragma once
// Maps strings (product ids, categories) to dense 32-bit ids so per-pane maps key on integers.
// Owns the strings; ids are stable for the life of the interner. Engine thread only, except a
// Frozen view, which any thread may read: names live in fixed chunks that never move and are never
// written again once set, so a checkpoint shares them instead of copying a million strings.

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/bytes.h"
#include "orderpulse/common/hash.h"
#include "orderpulse/common/prefetch.h"

namespace orderpulse {

// Every record looks its product up here, and a catalog of 10k+ products outgrows the caches, so
// the index is a table of 32-byte slots, each holding the name's hash, its id and, when it is
// short (most product ids are), the name itself: a lookup is then one cache line, prefetched by
// the caller records ahead, instead of a slot and then the string it points to.
class Interner {
  static constexpr unsigned kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kInline = 19;
  static constexpr std::uint8_t kLong = 0xff;

  // Aligned so that no slot straddles two cache lines (malloc alone aligns to 16).
  struct alignas(32) Slot {
    std::uint64_t hash = 0;
    std::uint32_t id_plus_one = 0;  // 0 = empty
    std::uint8_t length = kLong;    // of the name when it is inline, else kLong
    char name[kInline] = {};
  };
  static_assert(sizeof(Slot) == 32);

 public:
  struct Frozen {
    std::vector<std::shared_ptr<const std::string[]>> chunks;
    std::size_t size = 0;
    std::string_view name(std::uint32_t id) const { return chunks[id >> kChunkBits][id & (kChunkSize - 1)]; }
  };

  // `hash` is stable_hash(s), when the caller has it already.
  std::uint32_t intern(std::string_view s) { return intern(s, stable_hash(s)); }
  std::uint32_t intern(std::string_view s, std::uint64_t hash) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = index(hash);
    for (;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id_plus_one == 0) break;
      if (slot.hash == hash && holds(slot, s)) return slot.id_plus_one - 1;
    }
    const auto id = static_cast<std::uint32_t>(size_);
    if ((size_ >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_shared<std::string[]>(kChunkSize));
    chunks_.back()[size_ & (kChunkSize - 1)].assign(s);
    ++size_;
    Slot& slot = slots_[i];
    slot.hash = hash;
    slot.id_plus_one = id + 1;
    if (s.size() <= kInline) {
      slot.length = static_cast<std::uint8_t>(s.size());
      std::memcpy(slot.name, s.data(), s.size());
    }
    return id;
  }
  std::optional<std::uint32_t> find(std::string_view s) const {
    if (slots_.empty()) return std::nullopt;
    const std::uint64_t hash = stable_hash(s);
    for (std::size_t i = index(hash);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& slot = slots_[i];
      if (slot.id_plus_one == 0) return std::nullopt;
      if (slot.hash == hash && holds(slot, s)) return slot.id_plus_one - 1;
    }
  }
  // The slot a lookup of `hash` starts at, towards the cache.
  void prefetch(std::uint64_t hash) const {
    if (!slots_.empty()) prefetch_read(&slots_[index(hash)]);
  }
  std::string_view name(std::uint32_t id) const { return chunks_[id >> kChunkBits][id & (kChunkSize - 1)]; }
  std::size_t size() const { return size_; }
  void reserve(std::size_t n) {
    while ((n + 1) * 4 > slots_.size() * 3) grow();
  }

  Frozen freeze() const { return Frozen{{chunks_.begin(), chunks_.end()}, size_}; }

 private:
  std::size_t index(std::uint64_t hash) const { return static_cast<std::size_t>(hash >> shift_); }
  bool holds(const Slot& slot, std::string_view s) const {
    if (s.size() <= kInline) return slot.length == s.size() && same_bytes(slot.name, s.data(), s.size());
    return same_bytes(name(slot.id_plus_one - 1), s);
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const std::size_t capacity = old.empty() ? 64 : old.size() * 2;
    slots_.assign(capacity, Slot{});
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    for (const Slot& slot : old) {
      if (slot.id_plus_one == 0) continue;
      std::size_t i = index(slot.hash);
      while (slots_[i].id_plus_one != 0) i = (i + 1) & (capacity - 1);
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  unsigned shift_ = 64;  // index = the hash's top bits
  std::vector<std::shared_ptr<std::string[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace orderpulse
