#pragma once
// Sums kept packed in small table slots, with the few that outgrow the packing kept exact on the
// side. The tables read for every record (the alerts' customer sums, a pane's product sums) set
// batch mode's speed by how many cache lines they take: a slot of 16 bytes, four to a line and
// none straddling two, misses less than one of 24. Whether a key's sums are packed or spilled is
// this class's business alone; callers see whole (Wide) sums.
//
// Packed must provide: `Wide` (the whole sums, with `add(args...)`), `bool spilled()`,
// `Wide get()` (not spilled), `bool try_add(args...)` (not spilled: false, and nothing changed,
// when the result would not fit), `void mark_spilled()`, `static bool fits(const Wide&)` and
// `static Packed packed(const Wide&)`.
//
// Owned by one state object on the engine thread (a checkpoint's copy shares the shards, see
// CowShards; the side map, nearly always empty, is copied whole).

#include <cstdint>
#include <map>

#include "orderpulse/state/cow_shards.h"

namespace orderpulse {

template <typename Key, typename Packed, std::uint32_t kShards = 16>
class SpillShards {
 public:
  using Wide = typename Packed::Wide;

  // Adds to the key's sums (spilling them if they no longer fit) and returns them.
  template <typename... Args>
  Wide add(Key key, CowStats& cow, Args... args) {
    Packed& slot = sums_.at(key, cow);
    if (!slot.spilled() && slot.try_add(args...)) [[likely]]
      return slot.get();
    Wide& wide = spilled_[key];
    if (!slot.spilled()) {
      wide = slot.get();
      slot.mark_spilled();
    }
    wide.add(args...);
    return wide;
  }

  // Changes the sums of a key add() has seen with fn(Wide&).
  template <typename Fn>
  void update(Key key, Fn&& fn, CowStats& cow) {
    Packed& slot = sums_.at(key, cow);
    if (slot.spilled()) {
      fn(spilled_.at(key));
      return;
    }
    Wide wide = slot.get();
    fn(wide);
    store(slot, key, wide);
  }

  // Sets a key's sums (restore).
  void put(Key key, const Wide& sums) { store(sums_[key], key, sums); }

  // Every key's sums, in slot order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    sums_.for_each([&](Key key, const Packed& s) { fn(key, s.spilled() ? spilled_.at(key) : s.get()); });
  }

  void prefetch(Key key) const { sums_.prefetch(key); }
  // Room for `keys` keys (a new table filling like the one before it).
  void reserve(std::size_t keys) { sums_.reserve(keys); }
  std::size_t size() const { return sums_.size(); }

 private:
  void store(Packed& slot, Key key, const Wide& sums) {
    if (Packed::fits(sums)) {
      if (slot.spilled()) spilled_.erase(key);
      slot = Packed::packed(sums);
    } else {
      slot.mark_spilled();
      spilled_[key] = sums;
    }
  }

  CowShards<Key, Packed, kShards> sums_;
  std::map<Key, Wide> spilled_;
};

}  // namespace orderpulse
