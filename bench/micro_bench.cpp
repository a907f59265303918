// Micro benchmarks of the per-record work: parsing, de-duplication, pane updates, sketches.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "orderpulse/common/hash.h"
#include "orderpulse/engine/event_batch.h"
#include "orderpulse/event/parser.h"
#include "orderpulse/state/dedup_set.h"
#include "orderpulse/state/hyperloglog.h"
#include "orderpulse/state/pane_store.h"

namespace {

using namespace orderpulse;

std::string record(int i) {
  return "{\"order_id\":\"o" + std::to_string(100000000 + i) + "\",\"line\":1,\"customer_id\":\"c" + std::to_string(i % 9973) +
         "\",\"product_id\":\"p" + std::to_string(i % 997) +
         "\",\"category\":\"toys\",\"quantity\":2,\"unit_price\":19.99,\"event_time\":\"2024-01-01T00:00:01.250Z\"}";
}

void BM_ParseNdjson(benchmark::State& state) {
  static RecordOrigin origin{0, "file", "file", "bench"};
  EventBatch batch;
  for (int i = 0; i < 4096; ++i) batch.add(record(i), static_cast<std::uint64_t>(i), &origin, {});
  batch.seal();
  RecordParser parser;
  for (auto _ : state) {
    parser.parse(batch);
    benchmark::DoNotOptimize(batch.events().data());
  }
  state.SetItemsProcessed(state.iterations() * 4096);
}
BENCHMARK(BM_ParseNdjson);

void BM_DedupInsert(benchmark::State& state) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1 << 20; ++i) ids.push_back("o" + std::to_string(100000000 + i));
  std::size_t i = 0;
  DedupSet dedup;
  for (auto _ : state) {
    const std::string& id = ids[i++ & ((1 << 20) - 1)];
    benchmark::DoNotOptimize(dedup.seen_or_insert(dedup_key_hash(id, 1), id, 1, static_cast<TimestampMs>(i), kMinTime));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DedupInsert);

void BM_HyperLogLogAdd(benchmark::State& state) {
  HyperLogLog h;
  std::uint64_t i = 0;
  for (auto _ : state) h.add(stable_hash(std::string_view(reinterpret_cast<const char*>(&++i), sizeof(i))));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HyperLogLogAdd);

void BM_PaneAdd(benchmark::State& state) {
  Aggregate agg;
  CowStats cow;
  Event e;
  e.quantity = 2;
  e.unit_price = 1999;
  std::uint32_t i = 0;
  for (auto _ : state) {
    ++i;
    e.product_ref = i % 997;
    e.category_ref = i % 20;
    agg.add(e, i * 0x9E3779B97F4A7C15ull, cow);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PaneAdd);

}  // namespace

BENCHMARK_MAIN();
