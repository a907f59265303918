#include "orderpulse/operators/window_aggregate.h"

#include <algorithm>

#include "orderpulse/common/hash.h"

namespace orderpulse {

WindowAggregate::WindowAggregate(const Config& config, const ProductDirectory& directory)
    : specs_(config.windows),
      top_n_(config.top_n),
      directory_(directory),
      store_(config.pane_size()),
      running_(config.windows.size()) {}

void WindowAggregate::on_batch(EventBatch& batch, Collector&) {
  auto& events = batch.events();
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size() && events[i + kAhead].status == EventStatus::accepted) store_.prefetch(events[i + kAhead]);
    const Event& e = events[i];
    if (e.status != EventStatus::accepted || e.kind != EventKind::order) continue;
    // A record before the finalized time (a source back from idle) changes a pane the running
    // sums hold: they are rebuilt from the panes for the next window.
    if (e.event_time < finalized_) [[unlikely]]
      for (Running& r : running_) r.valid = false;
    store_.add(e, e.customer_hash);
    totals_.add(e, e.customer_hash);
  }
}

bool WindowAggregate::any_window_open(TimestampMs t) const {
  for (const WindowSpec& s : specs_)
    if (PaneStore::floor_to(t, s.slide) + s.size > finalized_) return true;
  return false;
}

void WindowAggregate::on_watermark(TimestampMs watermark, Collector& out) {
  if (watermark <= finalized_) return;
  due_.clear();
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const WindowSpec& s = specs_[i];
    for (const auto& [pane, agg] : store_.panes()) {
      // Windows holding this pane start in (pane - size, pane], on multiples of the slide.
      for (TimestampMs w = PaneStore::floor_to(pane, s.slide); w > pane - s.size; w -= s.slide) {
        const TimestampMs end = w + s.size;
        if (end > finalized_ && end <= watermark) due_.push_back({end, i, w});
      }
    }
  }
  std::sort(due_.begin(), due_.end());
  due_.erase(std::unique(due_.begin(), due_.end()), due_.end());
  for (const Due& d : due_) {
    WindowResult w;
    if (compute(d.spec, d.start, w, true)) out.windows.push_back(std::move(w));
  }
  finalized_ = watermark;
  // Free panes whose every window is final.
  const auto& panes = store_.panes();
  for (auto it = panes.begin(); it != panes.end();) {
    if (!all_windows_final(it->first)) break;  // panes are ordered: later ones are needed too
    auto next = std::next(it);
    store_.erase(it);
    it = next;
  }
}

std::vector<WindowResult> WindowAggregate::open_windows() {
  std::vector<WindowResult> result;
  if (store_.panes().empty()) return result;
  const TimestampMs newest = store_.panes().rbegin()->first;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const WindowSpec& s = specs_[i];
    TimestampMs start = PaneStore::floor_to(newest, s.slide) + s.slide - s.size;
    while (start + s.size <= finalized_) start += s.slide;
    WindowResult w;
    if (compute(i, start, w, false)) result.push_back(std::move(w));
  }
  return result;
}

bool WindowAggregate::compute(std::size_t spec, TimestampMs start, WindowResult& w, bool final) {
  const WindowSpec& s = specs_[spec];
  const TimestampMs end = start + s.size;
  const auto& panes = store_.panes();
  auto add_panes = [&panes](PaneSums& sums, TimestampMs from, TimestampMs to, int sign) {
    for (auto it = panes.lower_bound(from); it != panes.end() && it->first < to; ++it) sums.add(*it->second.agg, sign);
  };
  // Final windows of a sliding spec come in order of start, one slide apart while records keep
  // coming: the spec's running sums then hold [start, end - slide) already.
  const bool running = final && s.size > s.slide;
  Running& r = running_[spec];
  PaneSums& sums = running ? r.sums : once_;
  if (!running || !r.valid || r.next_start != start) {
    sums.clear();
    add_panes(sums, start, end - s.slide, 1);
  }
  add_panes(sums, end - s.slide, end, 1);
  sums.collect(products_, categories_);
  const bool has_records = sums.lines() > 0;
  if (has_records) {
    w.spec = spec;
    w.spec_name = s.name;
    w.start = start;
    w.end = end;
    w.lines = sums.lines();
    w.items = sums.items();
    w.orders = sums.orders();
    w.revenue = sums.revenue();
    customers_.clear();
    for (auto it = panes.lower_bound(start); it != panes.end() && it->first < end; ++it)
      customers_.merge(it->second.agg->totals.customers);
    w.active_customers = customers_.estimate();
  }
  if (running) {
    // The panes before end no longer change (a record for them is late, or marks the sums stale
    // in on_batch), so taking out the oldest slide leaves the start of the next window.
    add_panes(sums, start, start + s.slide, -1);
    r.valid = true;
    r.next_start = start + s.slide;
  }
  if (!has_records) return false;

  const ProductDirectory& names = directory_;
  auto by_revenue = [&names](const auto& a, const auto& b) {
    if (a.second.revenue != b.second.revenue) return a.second.revenue > b.second.revenue;
    return names.product_name(a.first) < names.product_name(b.first);
  };
  const std::size_t n = std::min(top_n_, products_.size());
  std::partial_sort(products_.begin(), products_.begin() + static_cast<std::ptrdiff_t>(n), products_.end(), by_revenue);
  w.top_products.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    w.top_products.push_back({std::string(names.product_name(products_[i].first)), products_[i].second.revenue, products_[i].second.items});

  w.categories.reserve(categories_.size());
  for (const auto& [id, rev] : categories_) w.categories.push_back({std::string(names.category_name(id)), rev});
  std::sort(w.categories.begin(), w.categories.end(), [](const CategoryTotal& a, const CategoryTotal& b) {
    if (a.revenue != b.revenue) return a.revenue > b.revenue;
    return a.category < b.category;
  });
  return true;
}

void WindowAggregate::encode(const Frozen& f, Encoder& out) {
  out.i64(f.finalized);
  f.totals.encode(out);
  PaneStore::encode(f.panes, out);
}

void WindowAggregate::decode(Decoder& in) {
  for (Running& r : running_) r.valid = false;
  finalized_ = in.i64();
  totals_.decode(in);
  store_.decode(in, directory_.products(), directory_.categories());
}

}  // namespace orderpulse
