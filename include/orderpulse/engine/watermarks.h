#pragma once
// Per-source event-time progress. A source's watermark is the max event time of its accepted
// records minus the configured delay; the engine watermark is the minimum over known sources.
// In the live server a source that delivered nothing for longer than the idle timeout (measured by
// the clock the server injects, never read here) stops holding the engine watermark back: an idle
// Kafka partition or followed file must not stall every window. Batch mode injects no clock, so
// nothing is ever idle there. Owned by the engine; engine thread only.

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "orderpulse/common/time.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {

class SourceWatermarks {
 public:
  explicit SourceWatermarks(DurationMs delay) : delay_(delay) {}

  // kMinTime until the source has accepted a record.
  TimestampMs source_watermark(std::uint32_t source) const {
    const TimestampMs t = max_time(source);
    return t == kMinTime ? kMinTime : t - delay_;
  }
  // The latest event time the source has accepted; kMinTime before its first record.
  TimestampMs max_time(std::uint32_t source) const {
    auto it = max_time_.find(source);
    return it == max_time_.end() ? kMinTime : it->second;
  }
  DurationMs delay() const { return delay_; }
  void observe(std::uint32_t source, TimestampMs event_time) {
    if (!announced_.empty()) announced_.erase(source);
    auto [it, inserted] = max_time_.try_emplace(source, event_time);
    if (!inserted && event_time > it->second) it->second = event_time;
  }
  TimestampMs engine_watermark() const {
    const auto holder = holding_source();
    return holder ? source_watermark(*holder) : kMinTime;
  }
  // Live server: a source that exists (an assigned Kafka partition, a followed file) holds the
  // watermark back from the moment it is announced, even before its first record, until it goes
  // idle; otherwise whichever partitions happen to deliver first would finalize windows the others
  // still have records for.
  void announce(std::uint32_t source) {
    retired_.erase(source);
    if (max_time_.contains(source) || announced_.contains(source)) return;
    announced_.insert(source);
    if (idle_timeout_ > 0) last_seen_[source] = now_;
  }
  // Live server: the source is gone from this server (a Kafka partition revoked in a rebalance):
  // it stops holding the watermark back at once, as an idle one does after the timeout, until it
  // is announced again. Its max event time stays, so records it delivers later are judged as before.
  void retire(std::uint32_t source) { retired_.insert(source); }
  bool is_retired(std::uint32_t source) const { return retired_.contains(source); }
  // The source whose watermark is the engine's: the slowest one that is not idle (the slowest of
  // all when every one is idle). Lowest id on ties. Empty before any accepted record. An announced
  // source without records yet is the slowest of all until it goes idle.
  std::optional<std::uint32_t> holding_source() const {
    std::optional<std::uint32_t> best, best_idle;
    TimestampMs best_t = kMaxTime, best_idle_t = kMaxTime;
    if (!max_time_.empty())
      for (std::uint32_t source : announced_)
        if (!is_idle(source) && (!best || best_t != kMinTime || source < *best)) {
          best = source;
          best_t = kMinTime;
        }
    if (best) return best;
    for (const auto& [source, t] : max_time_) {
      const bool idle = is_idle(source);
      auto& b = idle ? best_idle : best;
      TimestampMs& bt = idle ? best_idle_t : best_t;
      if (!b || t < bt || (t == bt && source < *b)) {
        b = source;
        bt = t;
      }
    }
    return best ? best : best_idle;
  }

  // Serve mode: the injected clock (ms) and the idle timeout (0 = never idle).
  void set_idle_timeout(DurationMs timeout) { idle_timeout_ = timeout; }
  void set_now(TimestampMs now) {
    if (first_now_ == kMinTime) first_now_ = now;
    now_ = now;
  }
  // Whether touch() records anything (only with an idle timeout).
  bool tracks_activity() const { return idle_timeout_ > 0; }
  // The source delivered records at the current clock time.
  void touch(std::uint32_t source) {
    if (idle_timeout_ > 0) last_seen_[source] = now_;
  }
  // Sources that exist and are idle (retired ones are gone, not idle).
  std::size_t idle_sources() const {
    std::size_t n = 0;
    for (const auto& [source, t] : max_time_) n += !is_retired(source) && is_idle(source);
    return n;
  }
  // Whether the source no longer holds the watermark back: retired, or silent for longer than the
  // idle timeout.
  bool is_idle(std::uint32_t source) const {
    if (!retired_.empty() && retired_.contains(source)) return true;
    if (idle_timeout_ <= 0 || now_ == kMinTime) return false;
    auto it = last_seen_.find(source);
    // Restored sources count as seen when the clock started.
    const TimestampMs seen = it == last_seen_.end() ? first_now_ : it->second;
    return now_ - seen > idle_timeout_;
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
  // Activity by the injected clock; not checkpointed (wall time means nothing after a restart).
  DurationMs idle_timeout_ = 0;
  TimestampMs now_ = kMinTime;
  TimestampMs first_now_ = kMinTime;
  absl::flat_hash_map<std::uint32_t, TimestampMs> last_seen_;
  absl::flat_hash_set<std::uint32_t> announced_;  // no accepted record yet; not checkpointed
  absl::flat_hash_set<std::uint32_t> retired_;    // gone from this server; not checkpointed
};

}  // namespace orderpulse
