#pragma once
// Per-source event-time progress. A source's watermark is the max event time of its accepted
// records minus the configured delay; the engine watermark is the minimum over known sources.
// Owned by the engine; read and written on the engine thread only.

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {

class SourceWatermarks {
 public:
  explicit SourceWatermarks(DurationMs delay) : delay_(delay) {}

  // kMinTime until the source has accepted a record.
  TimestampMs source_watermark(std::uint32_t source) const {
    auto it = max_time_.find(source);
    return it == max_time_.end() ? kMinTime : it->second - delay_;
  }
  void observe(std::uint32_t source, TimestampMs event_time) {
    auto [it, inserted] = max_time_.try_emplace(source, event_time);
    if (!inserted && event_time > it->second) it->second = event_time;
  }
  TimestampMs engine_watermark() const {
    if (max_time_.empty()) return kMinTime;
    TimestampMs wm = kMaxTime;
    for (const auto& [source, t] : max_time_) wm = std::min(wm, t - delay_);
    return wm;
  }

 // Sorted by source, so the same state always encodes to the same bytes.
  void encode(Encoder& out) const {
    std::vector<std::pair<std::uint32_t, TimestampMs>> v(max_time_.begin(), max_time_.end());
    std::sort(v.begin(), v.end());
    out.varint(v.size());
    for (const auto& [source, t] : v) {
      out.varint(source);
      out.i64(t);
    }
  }
  void decode(Decoder& in) {
    max_time_.clear();
    const std::size_t n = in.count(9);
    for (std::size_t i = 0; i < n; ++i) {
      const auto source = static_cast<std::uint32_t>(in.varint());
      max_time_[source] = in.i64();
    }
  }

 private:
  DurationMs delay_;
  absl::flat_hash_map<std::uint32_t, TimestampMs> max_time_;
};

}  // namespace orderpulse
