#include "orderpulse/state/dedup_set.h"

#include <cstddef>
#include <cstring>
#include <stdexcept>

#include "orderpulse/common/bytes.h"
#include "orderpulse/common/hash.h"
#include "orderpulse/common/huge_pages.h"
#include "orderpulse/common/prefetch.h"

namespace orderpulse {
using namespace dedup_detail;

bool DedupSet::seen_or_insert_slow(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                              TimestampMs min_time) {
  std::size_t free = Table::npos;
  if (const std::size_t i = current_.find(hash, order_id, line, &free); i != Table::npos) {
    if (current_.time_at(i) >= min_time) return true;
    current_.set_time(i, t);  // the earlier one is out of the horizon: this record counts again
    return false;
  }
  if (const std::size_t i = previous_.find(hash, order_id, line); i != Table::npos && previous_.time_at(i) >= min_time)
    return true;
  // New, or only an expired copy in the previous generation (which is dropped whole later).
  if (current_.full()) {
    current_.grow(growth_capacity());
    free = Table::npos;  // re-slotted
  }
  current_.insert(hash, order_id, line, t, free);
  return false;
}

std::size_t DedupSet::growth_capacity() const {
  const std::size_t now = current_.capacity();
  std::size_t target = now * 2;
  // Growing one doubling at a time, the first generation of a run re-slotted its keys five times on
  // the way to a million slots, each time into fresh memory (about 17 ms of a run). The span of
  // its keys' event times tells how many keys a horizon brings, so it grows towards that at once.
  // Later generations are sized when they start (evict_older_than) and seldom grow.
  const TimestampMs span = current_.max_time() - current_.min_time();
  if (horizon_ > 0 && span > 0 && now < kProjectionLimit) {
    const double projected = static_cast<double>(current_.size()) * static_cast<double>(horizon_) / static_cast<double>(span);
    while (target < kProjectionLimit && (projected + 1) * 10 > static_cast<double>(target) * 7) target *= 2;
  }
  return target;
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
    if (order_id.size() > kMaxKeyBytes) throw CodecError("dedup: order id of " + std::to_string(order_id.size()) + " bytes");
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

// One fingerprint chunk is allocated whatever the capacity, so that is the smallest table.
DedupSet::Table::Table()
    : fingerprints_(Fingerprints::kChunkSize, 0), entries_(Fingerprints::kChunkSize, 0), mask_(Fingerprints::kChunkSize - 1) {}

DedupSet::Entry DedupSet::Table::read_entry(const char* e) {
  Entry out;
  std::uint16_t length;
  std::memcpy(&out.time, e + kTimeAt, sizeof(out.time));
  std::memcpy(&out.line, e + kLineAt, sizeof(out.line));
  std::memcpy(&length, e + kLengthAt, sizeof(length));
  out.order_id = std::string_view(e + kIdAt, length);
  return out;
}

std::size_t DedupSet::Table::find(std::uint64_t hash, std::string_view order_id, std::int32_t line, std::size_t* free) const {
  const std::uint16_t fingerprint = fingerprint_of(hash);
  // A group never straddles chunks (the chunk size is a multiple of kGroup): its slots are contiguous.
  for (std::size_t base = home(hash, mask_);; base = (base + kGroup) & mask_) {
    const GroupMasks m = scan_group(&fingerprints_[base], fingerprint);
    for (unsigned match = m.match; match != 0; match &= match - 1) {
      const std::size_t i = base + slot_in_group(match);
      const char* e = entry_at(arena_, entries_[i]);
      std::int32_t entry_line;
      std::uint16_t length;
      std::memcpy(&entry_line, e + kLineAt, sizeof(entry_line));
      std::memcpy(&length, e + kLengthAt, sizeof(length));
      if (entry_line == line && length == order_id.size() && same_bytes(e + kIdAt, order_id.data(), order_id.size()))
        return i;
    }
    if (m.empty != 0) {
      // The first empty slot from the home group on: where free_slot() would put the key.
      if (free) *free = base + slot_in_group(m.empty);
      return npos;
    }
  }
}

std::uint32_t DedupSet::Table::append_entry(std::string_view order_id, std::int32_t line, TimestampMs t) {
  if (order_id.size() > kMaxKeyBytes) throw std::length_error("dedup key too long");
  const std::size_t need = entry_bytes(order_id.size());
  if (arena_used_ + need > kArenaChunk) {
    // Entries are addressed in kAlign units by 32 bits: every offset of the new chunk must fit.
    if ((arena_.size() + 1) * kArenaChunk / kAlign > std::size_t{UINT32_MAX} + 1) throw std::length_error("dedup arena full");
    if (spare_.empty()) {
      arena_.push_back(allocate_huge_pages(kArenaChunk));
    } else {
      arena_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    }
    arena_used_ = 0;
  }
  return write_entry(need, order_id, line, t);
}

void DedupSet::Table::insert(std::uint64_t hash, std::string_view order_id, std::int32_t line, TimestampMs t,
                             std::size_t slot) {
  // DedupSet grows a full table first (to the size it projects) and restore reserves up front, so
  // this only keeps the table from ever filling, which would leave a search without an end.
  if (over_load(size_ + 1)) {
    grow(fingerprints_.size() * 2);
    slot = npos;  // re-slotted
  }
  const std::size_t i = slot != npos ? slot : free_slot(hash);
  fingerprints_.mut(i) = fingerprint_of(hash);
  entries_.mut(i) = append_entry(order_id, line, t);
  ++size_;
  note_time(t);
}

void DedupSet::Table::set_time(std::size_t slot, TimestampMs t) {
  const Entry old = read_entry(entry_at(arena_, entries_[slot]));
  entries_.mut(slot) = append_entry(old.order_id, old.line, t);
  note_time(t);
}

void DedupSet::Table::grow(std::size_t capacity) {
  // Re-slot every key by its hash, taken again from the key the entry holds.
  Table bigger;
  bigger.fingerprints_ = Fingerprints(capacity, 0);
  bigger.entries_ = Entries(capacity, 0);
  bigger.mask_ = capacity - 1;
  constexpr std::size_t kAhead = 16;  // entries are read at random: overlap their misses
  for (std::size_t j = 0; j < fingerprints_.size(); ++j) {
    if (j + kAhead < fingerprints_.size() && fingerprints_[j + kAhead] != 0) prefetch_read(entry_at(arena_, entries_[j + kAhead]));
    if (fingerprints_[j] == 0) continue;
    const Entry e = read_entry(entry_at(arena_, entries_[j]));
    const std::uint64_t hash = dedup_key_hash(e.order_id, e.line);
    const std::size_t i = bigger.free_slot(hash);
    bigger.fingerprints_.mut(i) = fingerprint_of(hash);
    bigger.entries_.mut(i) = entries_[j];
  }
  fingerprints_ = std::move(bigger.fingerprints_);
  entries_ = std::move(bigger.entries_);
  mask_ = bigger.mask_;
}

void DedupSet::Table::reserve(std::size_t n) {
  std::size_t capacity = fingerprints_.size();
  while ((n + 1) * 10 > capacity * 7) capacity *= 2;
  if (capacity == fingerprints_.size()) return;
  if (size_ != 0) throw std::logic_error("DedupSet::Table::reserve on a used table");
  fingerprints_ = Fingerprints(capacity, 0);
  entries_ = Entries(capacity, 0);
  mask_ = capacity - 1;
}

void DedupSet::Table::clear() {
  // Keep the capacity: the next generation will need about as much. Entry indexes of empty slots
  // are never read, so only the fingerprints are reset.
  fingerprints_.fill(0);
  // Chunks no checkpoint holds are kept for the next generation: fresh memory costs a page fault
  // per 4 KiB on first write, which was a quarter of the time of a new key.
  for (auto& chunk : arena_)
    if (chunk.use_count() == 1) spare_.push_back(std::move(chunk));
  arena_.clear();
  arena_used_ = kArenaChunk;
  size_ = 0;
  min_time_ = kMaxTime;
  max_time_ = kMinTime;
}

DedupSet::Frozen::Table DedupSet::Table::freeze() {
  return Frozen::Table{fingerprints_.freeze(), entries_.freeze(), {arena_.begin(), arena_.end()}};
}

void DedupSet::Table::for_each(const Frozen::Table& t,
                               const std::function<void(std::string_view, std::int32_t, TimestampMs)>& fn) {
  constexpr std::size_t kAhead = 16;  // entries are read at random: overlap their misses
  for (std::size_t i = 0; i < t.fingerprints.size; ++i) {
    if (i + kAhead < t.fingerprints.size && t.fingerprints[i + kAhead] != 0) prefetch_read(entry_at(t.arena, t.entries[i + kAhead]));
    if (t.fingerprints[i] == 0) continue;
    const Entry e = read_entry(entry_at(t.arena, t.entries[i]));
    fn(e.order_id, e.line, e.time);
  }
}

}  // namespace orderpulse
