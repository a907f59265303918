#include "orderpulse/state/dedup_set.h"

#include <cstring>
#include <stdexcept>

#include "orderpulse/common/hash.h"

namespace orderpulse {
namespace {
constexpr std::size_t kMinCapacity = 1 << 12;

std::int32_t read_line(const char* p) {
  std::int32_t line;
  std::memcpy(&line, p, sizeof(line));
  return line;
}
}  // namespace

bool DedupSet::seen_or_insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                              TimestampMs min_time) {
  if (const std::size_t i = current_.find(hash, order_id, line); i != Table::npos) {
    if (current_.time_at(i) >= min_time) return true;
    current_.set_time(i, t);  // the earlier one is out of the horizon: this record counts again
    return false;
  }
  if (const std::size_t i = previous_.find(hash, order_id, line); i != Table::npos && previous_.time_at(i) >= min_time)
    return true;
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

DedupSet::Frozen DedupSet::freeze() { return Frozen{current_.freeze(), previous_.freeze()}; }

void DedupSet::encode(const Frozen& frozen, TimestampMs min_time, Encoder& out) {
  // A key may sit in both generations (an expired copy in the previous one): both are written and
  // decode keeps the later time, which is all the duplicate test looks at.
  Encoder keys;
  std::uint64_t n = 0;
  auto put = [&](std::string_view order_id, std::int32_t line, TimestampMs t) {
    if (t < min_time) return;
    keys.str(order_id);
    keys.svarint(line);
    keys.i64(t);
    ++n;
  };
  Table::for_each(frozen.previous, put);
  Table::for_each(frozen.current, put);
  out.varint(n);
  out.bytes(keys.buffer().data(), keys.buffer().size());
}

void DedupSet::decode(Decoder& in) {
  current_.clear();
  previous_.clear();
  const std::size_t n = in.count(10);
  current_.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::string_view order_id = in.str();
    const auto line = static_cast<std::int32_t>(in.svarint());
    const TimestampMs t = in.i64();
    const std::uint64_t hash = dedup_key_hash(order_id, line);
    if (const std::size_t i = current_.find(hash, order_id, line); i != Table::npos) {
      if (t > current_.time_at(i)) current_.set_time(i, t);
    } else {
      current_.insert(hash, order_id, line, t);
    }
  }
}

DedupSet::Table::Table() : slots_(kMinCapacity, Slot{0, 0}), keys_(kMinCapacity, KeyRef{0, 0}), mask_(kMinCapacity - 1) {}

std::size_t DedupSet::Table::find(std::uint64_t hash, std::string_view order_id, std::int32_t line) const {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.hash == 0) return npos;
    if (s.hash != hash) continue;
    const KeyRef k = keys_[i];
    const char* bytes = key_bytes(k);
    if (k.length == order_id.size() && read_line(bytes + k.length) == line &&
        std::memcmp(bytes, order_id.data(), order_id.size()) == 0)
      return i;
  }
}

DedupSet::KeyRef DedupSet::Table::store_key(std::string_view order_id, std::int32_t line) {
  const std::size_t need = order_id.size() + sizeof(line);
  if (need > kArenaChunk) throw std::length_error("dedup key too long");
  if (arena_used_ + need > kArenaChunk) {
    arena_.push_back(std::make_shared_for_overwrite<char[]>(kArenaChunk));
    arena_used_ = 0;
  }
  const std::size_t chunk = arena_.size() - 1;
  if (chunk * kArenaChunk + arena_used_ + need > UINT32_MAX) throw std::length_error("dedup arena full");
  char* p = arena_.back().get() + arena_used_;
  std::memcpy(p, order_id.data(), order_id.size());
  std::memcpy(p + order_id.size(), &line, sizeof(line));
  const KeyRef k{static_cast<std::uint32_t>(chunk * kArenaChunk + arena_used_), static_cast<std::uint32_t>(order_id.size())};
  arena_used_ += need;
  return k;
}

void DedupSet::Table::insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  std::size_t i = hash & mask_;
  while (slots_[i].hash != 0) i = (i + 1) & mask_;
  slots_.mut(i) = Slot{hash, t};
  keys_.mut(i) = store_key(order_id, line);
  ++size_;
  note_time(t);
}

void DedupSet::Table::grow() {
  // Re-slot by the stored hashes; keys stay where they are in the arena.
  CowChunks<Slot> slots(slots_.size() * 2, Slot{0, 0});
  CowChunks<KeyRef> keys(slots.size(), KeyRef{0, 0});
  const std::size_t mask = slots.size() - 1;
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    const Slot s = slots_[j];
    if (s.hash == 0) continue;
    std::size_t i = s.hash & mask;
    while (slots[i].hash != 0) i = (i + 1) & mask;
    slots.mut(i) = s;
    keys.mut(i) = keys_[j];
  }
  slots_ = std::move(slots);
  keys_ = std::move(keys);
  mask_ = mask;
}

void DedupSet::Table::reserve(std::size_t n) {
  std::size_t capacity = slots_.size();
  while (capacity < 2 * (n + 1)) capacity *= 2;
  if (capacity == slots_.size()) return;
  if (size_ != 0) throw std::logic_error("DedupSet::Table::reserve on a used table");
  slots_ = CowChunks<Slot>(capacity, Slot{0, 0});
  keys_ = CowChunks<KeyRef>(capacity, KeyRef{0, 0});
  mask_ = capacity - 1;
}

void DedupSet::Table::clear() {
  // Keep the capacity: the next generation will need about as much.
  slots_.fill(Slot{0, 0});
  arena_.clear();
  arena_used_ = kArenaChunk;
  size_ = 0;
  max_time_ = kMinTime;
}

DedupSet::Frozen::Table DedupSet::Table::freeze() {
  return Frozen::Table{slots_.freeze(), keys_.freeze(), {arena_.begin(), arena_.end()}};
}

void DedupSet::Table::for_each(const Frozen::Table& t,
                               const std::function<void(std::string_view, std::int32_t, TimestampMs)>& fn) {
  for (std::size_t i = 0; i < t.slots.size; ++i) {
    const Slot& s = t.slots[i];
    if (s.hash == 0) continue;
    const KeyRef k = t.keys[i];
    const char* bytes = t.arena[k.offset / kArenaChunk].get() + k.offset % kArenaChunk;
    fn(std::string_view(bytes, k.length), read_line(bytes + k.length), s.time);
  }
}

}  // namespace orderpulse
