#pragma once
// A hash map split into shards by key, where a copy shares the shards and either side copies a
// shard only when it first writes to it. A checkpoint copies such a map in microseconds, and the
// copies that follow cost one shard at a time (a few hundred microseconds with a million keys)
// instead of the whole map at once. Used for a pane's product sums and the alerts' customer sums.
// Owned by one state object on the engine thread; a copy held by a checkpoint may be read on
// another thread, since nobody writes a shared shard again.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

#include "orderpulse/state/flat_table.h"

namespace orderpulse {

// What copy-on-write cost the engine thread, for the checkpoint probe.
struct CowStats {
  std::uint64_t pane_copies = 0;  // panes and shards copied
  double pane_copy_seconds = 0;
  double longest_pane_copy_seconds = 0;  // the longest single copy: the pause it caused

  void note(double seconds) {
    ++pane_copies;
    pane_copy_seconds += seconds;
    longest_pane_copy_seconds = std::max(longest_pane_copy_seconds, seconds);
  }
};

template <typename Key, typename Value, std::uint32_t kShards = 16>
class CowShards {
 public:
  using Map = FlatTable<Key, Value>;

  CowShards() = default;
  // Both sides now share every shard; whichever writes first copies it.
  CowShards(const CowShards& other) : shards_(other.shards_) {
    other.shared_.fill(true);
    shared_.fill(true);
  }
  CowShards& operator=(const CowShards& other) {
    if (this != &other) {
      shards_ = other.shards_;
      other.shared_.fill(true);
      shared_.fill(true);
    }
    return *this;
  }
  CowShards(CowShards&&) noexcept = default;
  CowShards& operator=(CowShards&&) noexcept = default;

  Value& at(const Key& key, CowStats& cow) {
    const std::size_t s = static_cast<std::size_t>(key % kShards);
    if (!shards_[s] || shared_[s]) [[unlikely]]
      own(s, cow);
    return (*shards_[s])[key];
  }
  // Brings the slot `key` would occupy towards the cache, so a lookup a few records later finds it
  // there. A read: never copies a shared shard.
  void prefetch(const Key& key) const {
    if (const auto& shard = shards_[static_cast<std::size_t>(key % kShards)]) shard->prefetch(key);
  }
  // Sizes the shards not created yet for `keys` keys in all (spread evenly, as hashed keys are).
  void reserve(std::size_t keys) {
    for (std::uint32_t s = 0; s < kShards; ++s) {
      if (shards_[s]) continue;
      shards_[s] = std::make_shared<Map>();
      shards_[s]->reserve(keys / kShards + keys / kShards / 16);
      shared_[s] = false;  // new: nobody else holds it
    }
  }
  // Where no checkpoint can hold the map (restore) the copy statistics do not matter.
  Value& operator[](const Key& key) {
    CowStats unused;
    return at(key, unused);
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& shard : shards_)
      if (shard) shard->for_each(fn);
  }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& shard : shards_) n += shard ? shard->size() : 0;
    return n;
  }

 private:
  // Makes shard s this map's own to write: created if missing, copied if a copy shares it.
  [[gnu::noinline]] void own(std::size_t s, CowStats& cow) {
    if (!shards_[s]) {
      shards_[s] = std::make_shared<Map>();
    } else {
      const auto begin = std::chrono::steady_clock::now();
      shards_[s] = std::make_shared<Map>(*shards_[s]);
      cow.note(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    }
    shared_[s] = false;  // written when it changes, not on every lookup
  }

  std::array<std::shared_ptr<Map>, kShards> shards_;
  mutable std::array<bool, kShards> shared_{};
};

}  // namespace orderpulse
