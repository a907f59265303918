#pragma once
// Everything the data alert rules remember between batches (docs/alerts.md): per-minute order and
// revenue buckets not yet judged, the trailing minutes they are judged against, per-customer sums
// of the open customer windows, the episodes now firing, and alerts decided but not yet released
// (released in event-time order once the watermark passes them, so the output order does not
// depend on batch boundaries). Owned by DataAlerts; engine thread only. A checkpoint copies it
// (the customer sums are the only part that grows with the input: one entry per active customer).

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <deque>
#include <map>

#include "orderpulse/state/cow_shards.h"
#include <string>
#include <vector>

#include "orderpulse/common/money.h"
#include "orderpulse/config/alert_config.h"
#include "orderpulse/operators/alert.h"
#include "orderpulse/state/codec.h"

namespace orderpulse {

struct MinuteSums {
  std::int64_t orders = 0;
  Cents revenue = 0;
};

struct CustomerSums {
  // Saturates at kMaxOrders: the burst rule only asks whether the count passed its limit (at most
  // AlertConfig::CustomerBurst::kMaxOrders, far below) and reports the count as it first does. 32
  // bits make a table slot 24 bytes instead of 32, and the table is read once per record.
  static constexpr std::int32_t kMaxOrders = INT32_MAX;
  static_assert(kMaxOrders > AlertConfig::CustomerBurst::kMaxOrders);
  Cents revenue = 0;
  std::int32_t orders = 0;
  std::uint8_t fired = 0;  // bit per customer rule already fired in this window
};

// An episode now firing: what its resolved record repeats.
struct Episode {
  Alert alert;                  // the firing record
  TimestampMs until = kMaxTime;  // customer episodes end with their window
};

// An alert decided but not yet released to the sinks.
struct PendingAlert {
  TimestampMs release = 0;  // released once the watermark is past it
  std::uint8_t group = 0;   // 0: decided at a watermark, 1: by a record
  std::uint64_t seq = 0;    // records: position in read order
  Alert alert;
  bool operator<(const PendingAlert& o) const {
    if (release != o.release) return release < o.release;
    if (group != o.group) return group < o.group;
    if (seq != o.seq) return seq < o.seq;
    return alert.id < o.alert.id;
  }
};

struct AlertState {
  std::uint64_t seq = 0;  // accepted records seen, in read order
  std::map<TimestampMs, MinuteSums> minutes;  // by minute start, not judged yet
  TimestampMs next_minute = kMinTime;         // the first minute not judged yet
  std::deque<MinuteSums> trailing;            // the judged minutes, newest last
  // By window start. Sharded copy-on-write: a checkpoint's copy of a million customers is cheap.
  std::map<TimestampMs, CowShards<std::uint64_t, CustomerSums, 64>> customers;
  std::map<std::string, Episode> open;  // by rule and subject
  std::vector<PendingAlert> pending;

  void encode(Encoder& out) const;
  void decode(Decoder& in);
};

}  // namespace orderpulse
