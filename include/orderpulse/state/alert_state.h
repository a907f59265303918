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
#include <string>
#include <vector>

#include "orderpulse/common/money.h"
#include "orderpulse/config/alert_config.h"
#include "orderpulse/operators/alert.h"
#include "orderpulse/state/codec.h"
#include "orderpulse/state/spill_shards.h"

namespace orderpulse {

struct MinuteSums {
  std::int64_t orders = 0;
  CentsSum revenue = 0;
};

// One customer's sums in one customer window, packed into 8 bytes: with its 8-byte key a table slot
// is 16 bytes, four to a cache line and none straddling two. The customer tables are among the
// largest state read for every record, and the fewer lines they take, the fewer of the reads miss:
// the 24-byte slots this replaced cost 1-4% more of batch mode's one-core time. Sums that outgrow
// the fields (revenue beyond 2^40 cents, about $11 billion; more than 2^20 - 1 orders) move whole
// to their window's side map (SpillShards), where they are exact; the slot then only says so.
class CustomerSums {
 public:
  // The sums as the rules read them. Both saturate: orders at kMaxOrders, revenue at kMaxRevenue
  // (a customer's sum can pass 2^63 cents, unlike one record's amount). The rules only ask whether
  // a sum reached its limit (at most AlertConfig::CustomerBurst::kMaxOrders and kMaxAbsCents, far
  // below) and report it as it first does, so every decision and value is exact. Unlike a
  // window's sums, these are never printed whole; 64 bits rather than a CentsSum keep them,
  // returned for every record, in two registers.
  struct Wide {
    static constexpr std::int32_t kMaxOrders = INT32_MAX;
    static constexpr Cents kMaxRevenue = INT64_MAX;
    Cents revenue = 0;
    std::int32_t orders = 0;
    std::uint8_t fired = 0;  // bit per customer rule already fired in this window
    void add(Cents r, bool order) {
      orders += order && orders < kMaxOrders;
      if (__builtin_add_overflow(revenue, r, &revenue)) revenue = kMaxRevenue;  // r >= 0
    }
  };
  static_assert(Wide::kMaxOrders > AlertConfig::CustomerBurst::kMaxOrders);
  static_assert(Wide::kMaxRevenue / 2 > kMaxAbsCents);

  static constexpr unsigned kRevenueBits = 40, kOrderBits = 20, kFiredBits = 3;
  static constexpr std::uint64_t kRevenueMask = (std::uint64_t{1} << kRevenueBits) - 1;
  static constexpr std::uint64_t kOrderMask = (std::uint64_t{1} << kOrderBits) - 1;
  static constexpr std::uint64_t kFiredMask = (std::uint64_t{1} << kFiredBits) - 1;

  bool spilled() const { return (bits_ >> 63) != 0; }
  // Not spilled: the sums.
  Wide get() const {
    return Wide{static_cast<Cents>(bits_ & kRevenueMask), static_cast<std::int32_t>((bits_ >> kRevenueBits) & kOrderMask),
                static_cast<std::uint8_t>((bits_ >> (kRevenueBits + kOrderBits)) & kFiredMask)};
  }
  // Not spilled: adds a record's revenue (>= 0) and order, unless the sums would no longer fit;
  // false then, and nothing changed: the caller spills them.
  bool try_add(Cents r, bool order) {
    const std::uint64_t revenue = bits_ & kRevenueMask;
    if (r < 0 || static_cast<std::uint64_t>(r) > kRevenueMask - revenue) return false;
    if (order && ((bits_ >> kRevenueBits) & kOrderMask) == kOrderMask) return false;
    bits_ += static_cast<std::uint64_t>(r) + (std::uint64_t{order} << kRevenueBits);
    return true;
  }
  void mark_spilled() { bits_ = std::uint64_t{1} << 63; }

  static bool fits(const Wide& w) {
    return w.revenue >= 0 && static_cast<std::uint64_t>(w.revenue) <= kRevenueMask && w.orders >= 0 &&
           static_cast<std::uint64_t>(w.orders) <= kOrderMask && w.fired <= kFiredMask;
  }
  // fits(w) must hold.
  static CustomerSums packed(const Wide& w) {
    CustomerSums s;
    s.bits_ = static_cast<std::uint64_t>(w.revenue) | (static_cast<std::uint64_t>(w.orders) << kRevenueBits) |
              (std::uint64_t{w.fired} << (kRevenueBits + kOrderBits));
    return s;
  }

 private:
  std::uint64_t bits_ = 0;
};
static_assert(sizeof(CustomerSums) == 8);

// The customers of one customer window, by customer hash (64 shards: a checkpoint's copy of a
// million customers is then paid in small pieces).
using CustomerWindow = SpillShards<std::uint64_t, CustomerSums, 64>;

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
  std::map<TimestampMs, CustomerWindow> customers;  // by window start
  std::map<std::string, Episode> open;  // by rule and subject
  std::vector<PendingAlert> pending;

  void encode(Encoder& out) const;
  void decode(Decoder& in);
};

}  // namespace orderpulse
