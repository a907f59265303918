#include "orderpulse/state/dedup_set.h"

#include <cstring>

#include "orderpulse/common/hash.h"

namespace orderpulse {
namespace {
constexpr std::size_t kMinCapacity = 1 << 12;
}

std::uint64_t DedupSet::hash_key(std::string_view order_id, std::int32_t line) {
  const std::uint64_t h = stable_hash(order_id, static_cast<std::uint64_t>(static_cast<std::uint32_t>(line)));
  return h == 0 ? 1 : h;
}

bool DedupSet::seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                              TimestampMs min_time) {
  if (TimestampMs* held = current_.find(hash, order_id, line)) {
    if (*held >= min_time) return true;
    *held = t;  // the earlier one is out of the horizon: this record counts again
    current_.note_time(t);
    return false;
  }
  if (TimestampMs* held = previous_.find(hash, order_id, line); held && *held >= min_time) return true;
  // New, or only an expired copy in the previous generation (which is dropped whole later).
  current_.insert(hash, order_id, line, t);
  return false;
}

void DedupSet::evict_older_than(TimestampMs min_time) {
  if (min_time == kMinTime || previous_.max_time() >= min_time) return;
  // Everything in the previous generation has expired.
  previous_.clear();
  std::swap(previous_, current_);
}

DedupSet::Table::Table() : slots_(kMinCapacity, Slot{0, 0}), keys_(kMinCapacity), mask_(kMinCapacity - 1) {}

TimestampMs* DedupSet::Table::find(std::uint64_t hash, std::string_view order_id, std::int32_t line) {
  for (std::size_t i = hash & mask_; slots_[i].hash != 0; i = (i + 1) & mask_) {
    if (slots_[i].hash != hash) continue;
    const KeyRef& k = keys_[i];
    std::int32_t stored_line;
    std::memcpy(&stored_line, arena_.data() + k.offset + k.length, sizeof(stored_line));
    if (k.length == order_id.size() && stored_line == line &&
        std::memcmp(arena_.data() + k.offset, order_id.data(), order_id.size()) == 0)
      return &slots_[i].time;
  }
  return nullptr;
}

void DedupSet::Table::insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  std::size_t i = hash & mask_;
  while (slots_[i].hash != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{hash, t};
  keys_[i] = KeyRef{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(order_id.size())};
  arena_.append(order_id);
  char bytes[sizeof(line)];
  std::memcpy(bytes, &line, sizeof(line));
  arena_.append(bytes, sizeof(bytes));
  ++size_;
  note_time(t);
}

void DedupSet::Table::grow() {
  // Re-slot by the stored hashes; keys stay where they are in the arena.
  std::vector<Slot> slots(slots_.size() * 2, Slot{0, 0});
  std::vector<KeyRef> keys(slots.size());
  const std::size_t mask = slots.size() - 1;
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    if (slots_[j].hash == 0) continue;
    std::size_t i = slots_[j].hash & mask;
    while (slots[i].hash != 0) i = (i + 1) & mask;
    slots[i] = slots_[j];
    keys[i] = keys_[j];
  }
  slots_.swap(slots);
  keys_.swap(keys);
  mask_ = mask;
}

void DedupSet::Table::clear() {
  // Keep the capacity: the next generation will need about as much.
  std::fill(slots_.begin(), slots_.end(), Slot{0, 0});
  arena_.clear();
  size_ = 0;
  max_time_ = kMinTime;
}

}  // namespace orderpulse
