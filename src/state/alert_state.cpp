#include "orderpulse/state/alert_state.h"

#include <algorithm>

namespace orderpulse {

// Maps are written in key order (customer sums sorted by hash), so one state is one byte string.
void AlertState::encode(Encoder& out) const {
  out.varint(seq);
  out.i64(next_minute);
  out.varint(minutes.size());
  for (const auto& [m, s] : minutes) {
    out.i64(m);
    out.svarint(s.orders);
    out.svarint128(s.revenue);
  }
  out.varint(trailing.size());
  for (const MinuteSums& s : trailing) {
    out.svarint(s.orders);
    out.svarint128(s.revenue);
  }
  out.varint(customers.size());
  std::vector<std::pair<std::uint64_t, CustomerSums::Wide>> sorted;
  for (const auto& [window, w] : customers) {
    out.i64(window);
    sorted.clear();
    w.for_each([&](std::uint64_t customer, const CustomerSums::Wide& c) { sorted.emplace_back(customer, c); });
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    out.varint(sorted.size());
    for (const auto& [customer, s] : sorted) {
      out.u64(customer);
      out.svarint(s.orders);
      out.svarint(s.revenue);
      out.u8(s.fired);
    }
  }
  out.varint(open.size());
  for (const auto& [key, e] : open) {
    out.str(key);
    e.alert.encode(out);
    out.i64(e.until);
  }
  out.varint(pending.size());
  for (const PendingAlert& p : pending) {
    out.i64(p.release);
    out.u8(p.group);
    out.varint(p.seq);
    p.alert.encode(out);
  }
}

void AlertState::decode(Decoder& in) {
  *this = AlertState{};
  seq = in.varint();
  next_minute = in.i64();
  const std::size_t nm = in.count(10);
  for (std::size_t i = 0; i < nm; ++i) {
    const TimestampMs m = in.i64();
    MinuteSums s;
    s.orders = in.svarint();
    s.revenue = in.svarint128();
    minutes.emplace(m, s);
  }
  const std::size_t nt = in.count(2);
  for (std::size_t i = 0; i < nt; ++i) {
    MinuteSums s;
    s.orders = in.svarint();
    s.revenue = in.svarint128();
    trailing.push_back(s);
  }
  const std::size_t nw = in.count(9);
  for (std::size_t i = 0; i < nw; ++i) {
    CustomerWindow& w = customers[in.i64()];
    const std::size_t nc = in.count(11);
    for (std::size_t k = 0; k < nc; ++k) {
      const std::uint64_t customer = in.u64();
      CustomerSums::Wide s;
      const std::int64_t orders = in.svarint();
      if (orders < 0) throw CodecError("alerts: negative order count");
      s.orders = static_cast<std::int32_t>(std::min<std::int64_t>(orders, CustomerSums::Wide::kMaxOrders));
      s.revenue = in.svarint();
      s.fired = in.u8();
      w.put(customer, s);
    }
  }
  const std::size_t no = in.count(10);
  for (std::size_t i = 0; i < no; ++i) {
    std::string key(in.str());
    Episode e;
    e.alert = Alert::decode(in);
    e.until = in.i64();
    open.emplace(std::move(key), std::move(e));
  }
  const std::size_t np = in.count(10);
  for (std::size_t i = 0; i < np; ++i) {
    PendingAlert p;
    p.release = in.i64();
    p.group = in.u8();
    p.seq = in.varint();
    p.alert = Alert::decode(in);
    pending.push_back(std::move(p));
  }
}

}  // namespace orderpulse
