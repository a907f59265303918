#include "orderpulse/state/dedup_set.h"

#include <cstring>

#include "orderpulse/common/hash.h"

namespace orderpulse {
namespace {
constexpr std::size_t kMinCapacity = 1 << 12;
}

DedupSet::DedupSet() : slots_(kMinCapacity, Slot{0, 0}), keys_(kMinCapacity), mask_(kMinCapacity - 1) {}

std::uint64_t DedupSet::hash_key(std::string_view order_id, std::int32_t line) {
  const std::uint64_t h = stable_hash(order_id, static_cast<std::uint64_t>(static_cast<std::uint32_t>(line)));
  return h == 0 ? 1 : h;
}

bool DedupSet::key_equals(const KeyRef& k, std::string_view order_id, std::int32_t line) const {
  if (k.length != order_id.size()) return false;
  std::int32_t stored_line;
  std::memcpy(&stored_line, arena_.data() + k.offset + k.length, sizeof(stored_line));
  return stored_line == line && std::memcmp(arena_.data() + k.offset, order_id.data(), order_id.size()) == 0;
}

DedupSet::KeyRef DedupSet::store_key(std::string& arena, std::string_view order_id, std::int32_t line) const {
  KeyRef k{static_cast<std::uint32_t>(arena.size()), static_cast<std::uint32_t>(order_id.size())};
  arena.append(order_id);
  char bytes[sizeof(line)];
  std::memcpy(bytes, &line, sizeof(line));
  arena.append(bytes, sizeof(bytes));
  return k;
}

bool DedupSet::seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                              TimestampMs min_time) {
  std::size_t i = hash & mask_;
  while (slots_[i].hash != 0) {
    if (slots_[i].hash == hash && key_equals(keys_[i], order_id, line)) {
      if (slots_[i].time >= min_time) return true;
      slots_[i].time = t;
      return false;
    }
    i = (i + 1) & mask_;
  }
  slots_[i] = Slot{hash, t};
  keys_[i] = store_key(arena_, order_id, line);
  ++size_;
  if (size_ * 2 > slots_.size()) rebuild(slots_.size() * 2, kMinTime);
  return false;
}

void DedupSet::evict_older_than(TimestampMs min_time, DurationMs step) {
  if (min_time == kMinTime) return;
  if (last_evicted_ != kMinTime && min_time - last_evicted_ < step) return;
  last_evicted_ = min_time;
  std::size_t live = 0;
  for (const Slot& s : slots_) live += s.hash != 0 && s.time >= min_time;
  // Keep the size while it fits: room to grow before the next rebuild, shrink only when mostly empty.
  std::size_t capacity = slots_.size();
  while (capacity < live * 3) capacity *= 2;
  while (capacity > kMinCapacity && capacity > live * 8) capacity /= 2;
  rebuild(capacity, min_time);
}

void DedupSet::rebuild(std::size_t capacity, TimestampMs min_time) {
  // Build into the spare buffers, then swap: their memory is reused from rebuild to rebuild, so a
  // steady stream pays no page faults for it. Growth (min_time == kMinTime) keeps every key where
  // it is in the arena; eviction also compacts the arena.
  const bool compact = min_time != kMinTime;
  std::vector<Slot>& slots = spare_slots_;
  std::vector<KeyRef>& keys = spare_keys_;
  slots.assign(capacity, Slot{0, 0});
  keys.resize(capacity);
  if (compact) spare_arena_.clear();
  const std::size_t mask = capacity - 1;
  std::size_t size = 0;
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    const Slot& s = slots_[j];
    if (s.hash == 0 || s.time < min_time) continue;
    std::size_t i = s.hash & mask;
    while (slots[i].hash != 0) i = (i + 1) & mask;
    slots[i] = s;
    const KeyRef& k = keys_[j];
    if (compact) {
      keys[i] = KeyRef{static_cast<std::uint32_t>(spare_arena_.size()), k.length};
      spare_arena_.append(arena_, k.offset, k.length + sizeof(std::int32_t));
    } else {
      keys[i] = k;
    }
    ++size;
  }
  slots_.swap(slots);
  keys_.swap(keys);
  if (compact) arena_.swap(spare_arena_);
  mask_ = mask;
  size_ = size;
}

}  // namespace orderpulse
