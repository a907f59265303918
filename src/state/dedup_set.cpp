#include "orderpulse/state/dedup_set.h"

#include <cstring>
#include <stdexcept>

#include "orderpulse/common/hash.h"
#include "orderpulse/common/prefetch.h"

namespace orderpulse {
namespace {

// Probes start at the first slot of the hash's cache line (8 slots): a line then fills from its
// start and a search for a new key, the common case, ends inside the one line that was prefetched
// unless that line is full. Starting anywhere in the line made half the searches cross into the
// next, unfetched line.
constexpr std::size_t kLineSlots = 8;
std::size_t home(std::uint64_t hash, std::size_t mask) { return hash & mask & ~(kLineSlots - 1); }

std::uint32_t tag_of(std::uint64_t hash) {
  const auto tag = static_cast<std::uint32_t>(hash >> 32);
  return tag == 0 ? 1 : tag;
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
  // The next generation will hold about as many keys as this one: size it now, while it is empty,
  // rather than re-slot it as it grows.
  previous_.reserve(current_.size());
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

// One chunk (a huge page) is allocated whatever the capacity, so that is the smallest table.
DedupSet::Table::Table() : slots_(Slots::kChunkSize, Slot{0, 0}), mask_(Slots::kChunkSize - 1) {}

DedupSet::EntryHead DedupSet::Table::head(std::uint32_t entry) const {
  EntryHead h;
  std::memcpy(&h, entry_at(arena_, entry), sizeof(h));
  return h;
}

std::size_t DedupSet::Table::find(std::uint64_t hash, std::string_view order_id, std::int32_t line) const {
  const std::uint32_t tag = tag_of(hash);
  for (std::size_t i = home(hash, mask_);; i = (i + 1) & mask_) {
    const Slot s = slots_[i];
    if (s.tag == 0) return npos;
    if (s.tag != tag) continue;
    const char* e = entry_at(arena_, s.entry);
    EntryHead h;
    std::memcpy(&h, e, sizeof(h));
    if (h.length == order_id.size() && h.line == line && std::memcmp(e + sizeof(h), order_id.data(), order_id.size()) == 0)
      return i;
  }
}

std::uint32_t DedupSet::Table::append_entry(std::string_view order_id, std::int32_t line, TimestampMs t) {
  const std::size_t need = (sizeof(EntryHead) + order_id.size() + kAlign - 1) / kAlign * kAlign;
  if (need > kArenaChunk) throw std::length_error("dedup key too long");
  if (arena_used_ + need > kArenaChunk) {
    arena_.push_back(std::make_shared_for_overwrite<char[]>(kArenaChunk));
    arena_used_ = 0;
  }
  const std::size_t offset = (arena_.size() - 1) * kArenaChunk + arena_used_;
  if (offset / kAlign > UINT32_MAX) throw std::length_error("dedup arena full");
  char* p = arena_.back().get() + arena_used_;
  const EntryHead h{t, line, static_cast<std::uint32_t>(order_id.size())};
  std::memcpy(p, &h, sizeof(h));
  std::memcpy(p + sizeof(h), order_id.data(), order_id.size());
  arena_used_ += need;
  return static_cast<std::uint32_t>(offset / kAlign);
}

void DedupSet::Table::insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t) {
  if (over_load(size_ + 1)) grow();
  std::size_t i = home(hash, mask_);
  while (slots_[i].tag != 0) i = (i + 1) & mask_;
  slots_.mut(i) = Slot{tag_of(hash), append_entry(order_id, line, t)};
  ++size_;
  note_time(t);
}

void DedupSet::Table::set_time(std::size_t i, TimestampMs t) {
  const std::uint32_t old = slots_[i].entry;
  const EntryHead h = head(old);
  const std::string_view order_id(entry_at(arena_, old) + sizeof(EntryHead), h.length);
  slots_.mut(i).entry = append_entry(order_id, h.line, t);
  note_time(t);
}

void DedupSet::Table::grow() {
  // Re-slot every key: the slots keep only part of the hash, so it is taken again from the entry.
  Slots slots(slots_.size() * 2, Slot{0, 0});
  const std::size_t mask = slots.size() - 1;
  constexpr std::size_t kAhead = 16;  // entries are read at random: overlap their misses
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    if (j + kAhead < slots_.size() && slots_[j + kAhead].tag != 0) prefetch_read(entry_at(arena_, slots_[j + kAhead].entry));
    const Slot s = slots_[j];
    if (s.tag == 0) continue;
    const EntryHead h = head(s.entry);
    const std::uint64_t hash = dedup_key_hash(std::string_view(entry_at(arena_, s.entry) + sizeof(EntryHead), h.length), h.line);
    std::size_t i = home(hash, mask);
    while (slots[i].tag != 0) i = (i + 1) & mask;
    slots.mut(i) = s;
  }
  slots_ = std::move(slots);
  mask_ = mask;
}

void DedupSet::Table::reserve(std::size_t n) {
  std::size_t capacity = slots_.size();
  while ((n + 1) * 10 > capacity * 7) capacity *= 2;
  if (capacity == slots_.size()) return;
  if (size_ != 0) throw std::logic_error("DedupSet::Table::reserve on a used table");
  slots_ = Slots(capacity, Slot{0, 0});
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

DedupSet::Frozen::Table DedupSet::Table::freeze() { return Frozen::Table{slots_.freeze(), {arena_.begin(), arena_.end()}}; }

void DedupSet::Table::for_each(const Frozen::Table& t,
                               const std::function<void(std::string_view, std::int32_t, TimestampMs)>& fn) {
  for (std::size_t i = 0; i < t.slots.size; ++i) {
    const Slot s = t.slots[i];
    if (s.tag == 0) continue;
    const char* e = entry_at(t.arena, s.entry);
    EntryHead h;
    std::memcpy(&h, e, sizeof(h));
    fn(std::string_view(e + sizeof(h), h.length), h.line, h.time);
  }
}

}  // namespace orderpulse
