#pragma once
// The (order_id, line) keys of accepted records with the event time of the latest one, for
// de-duplication within a horizon. The duplicate test is exact at read time; eviction only drops
// keys the test would ignore anyway, so memory is bounded by the horizon and results do not depend
// on when eviction runs. Engine thread only.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "orderpulse/common/time.h"

namespace orderpulse {

class DedupSet {
 public:
  // True when the key is held with an event time >= min_time (a duplicate). Otherwise the key is
  // stored (or refreshed) with time `t` and false is returned.
  bool seen_or_insert(std::string_view order_id, std::int32_t line, TimestampMs t, TimestampMs min_time);

  // Drops keys older than min_time; cheap to call often: it scans only when min_time has moved by
  // at least `step` since the last scan.
  void evict_older_than(TimestampMs min_time, DurationMs step);

  std::size_t size() const { return keys_.size(); }

 private:
  absl::flat_hash_map<std::string, TimestampMs> keys_;
  std::string key_;  // reused lookup buffer
  TimestampMs last_evicted_ = kMinTime;
};

}  // namespace orderpulse
