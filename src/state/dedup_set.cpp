#include "orderpulse/state/dedup_set.h"


#include <cstring>

namespace orderpulse {

bool DedupSet::seen_or_insert(std::string_view order_id, std::int32_t line, TimestampMs t,
                              TimestampMs min_time) {
  key_.assign(order_id);
  char tail[sizeof(line)];
  std::memcpy(tail, &line, sizeof(line));
  key_.append(tail, sizeof(tail));
  auto [it, inserted] = keys_.try_emplace(key_, t);
  if (inserted) return false;
  if (it->second >= min_time) return true;
  it->second = t;
  return false;
}

void DedupSet::evict_older_than(TimestampMs min_time, DurationMs step) {
  if (min_time == kMinTime) return;
  if (last_evicted_ != kMinTime && min_time - last_evicted_ < step) return;
  last_evicted_ = min_time;
  absl::erase_if(keys_, [min_time](const auto& kv) { return kv.second < min_time; });
}

}  // namespace orderpulse
