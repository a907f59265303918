// The data alert rules: each fires at the right event time, once per episode, and resolves; a
// control where it must not fire; the same alerts whatever the batch size and after a restore;
// the health rules by an injected clock; the config's `alerts` object.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace orderpulse {
namespace {

using test::checkpoint_bytes;
using test::Collected;
using test::order_line;
using test::restore;
using test::run_lines;
using test::test_origin;

std::shared_ptr<const Catalog> catalog_of(const std::string& rows) {
  const test::TempDir dir;
  std::ofstream(dir.file("catalog.csv")) << "product_id,category,stock,reorder_level\n" << rows;
  return std::make_shared<const Catalog>(Catalog::load_csv(dir.file("catalog.csv")));
}

std::string restock(const std::string& product, int quantity, const std::string& time) {
  return R"({"type":"restock","product_id":")" + product + R"(","quantity":)" + std::to_string(quantity) +
         R"(,"event_time":")" + time + "\"}";
}

std::string at(int minute, int second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2024-05-01T08:%02d:%02dZ", minute, second);
  return buf;
}

std::vector<std::string> with(const std::vector<std::string>& alerts, std::string_view needle) {
  std::vector<std::string> out;
  for (const auto& a : alerts)
    if (a.find(needle) != std::string::npos) out.push_back(a);
  return out;
}

// The given `alerts` object with every data rule it does not name turned off.
Config only(const std::string& rules_json) {
  Config c = Config::parse_json(R"({"alerts":)" + rules_json + "}", "t");
  auto named = [&](const char* rule) { return rules_json.find(rule) != std::string::npos; };
  c.alerts.low_inventory.enabled &= named("low_inventory");
  c.alerts.order_pattern.enabled &= named("order_pattern");
  c.alerts.customer_burst.enabled &= named("customer_burst");
  c.alerts.high_value_customer.enabled &= named("high_value_customer");
  c.alerts.high_value_order.enabled &= named("high_value_order");
  return c;
}

TEST(Alerts, LowInventoryFiresOnceAtTheCrossingAndRestockReArms) {
  auto catalog = catalog_of("p1,toys,10,3\np2,toys,100,3\n");
  const std::vector<std::string> lines = {
      order_line("a", 1, "c", "p1", "1", at(0, 0), 5),   // stock 5
      order_line("b", 1, "c", "p2", "1", at(0, 1), 5),   // control: 95, far above
      order_line("d", 1, "c", "p1", "1", at(0, 2), 2),   // stock 3: reaches the reorder level
      order_line("e", 1, "c", "p1", "1", at(0, 3), 1),   // 2: same episode, nothing new
      restock("p1", 20, at(0, 4)),                       // 22: resolved
      order_line("f", 1, "c", "p1", "1", at(0, 5), 19),  // 3 again: a new episode
  };
  for (std::size_t batch : {1u, 2u, 1000u}) {
    auto out = run_lines(lines, only(R"({"low_inventory":{"severity":"critical"}})"), batch, catalog);
    ASSERT_EQ(out.alerts.size(), 3u) << batch;
    EXPECT_NE(out.alerts[0].find(R"("rule":"low_inventory","severity":"critical","state":"firing","subject":"product:p1","event_time":"2024-05-01T08:00:02Z","values":{"stock":3,"reorder_level":3})"),
              std::string::npos) << out.alerts[0];
    EXPECT_NE(out.alerts[1].find(R"("state":"resolved","subject":"product:p1","event_time":"2024-05-01T08:00:04Z","values":{"stock":22,)"),
              std::string::npos) << out.alerts[1];
    EXPECT_NE(out.alerts[2].find(R"("state":"firing","subject":"product:p1","event_time":"2024-05-01T08:00:05Z")"), std::string::npos);
    EXPECT_EQ(out.alerts[0].substr(0, 26), out.alerts[1].substr(0, 26));  // one id per episode
    EXPECT_NE(out.alerts[0].substr(0, 26), out.alerts[2].substr(0, 26));
    EXPECT_TRUE(with(out.alerts, "p2").empty());
  }
}

TEST(Alerts, RestockRecordsAreAcceptedButNotSales) {
  auto catalog = catalog_of("p1,toys,10,3\n");
  EngineStats stats;
  auto out = run_lines({order_line("a", 1, "c", "p1", "2", at(0, 0)), restock("p1", 5, at(0, 1)),
                        R"({"type":"restock","quantity":5,"event_time":"2024-05-01T08:00:02Z"})"},
                       Config::defaults(), 10, catalog, &stats);
  EXPECT_EQ(stats.accepted, 2u);
  EXPECT_EQ(stats.rejected, 1u);  // a restock needs its product
  ASSERT_FALSE(out.windows.empty());
  EXPECT_NE(out.windows[0].find(R"("lines":1,"items":1,"orders":1,"revenue":2.00)"), std::string::npos) << out.windows[0];
}

// Minute m (0..) has orders(m) orders of 10.00 each.
std::vector<std::string> minutes_of(const std::vector<int>& orders) {
  std::vector<std::string> lines;
  int n = 0;
  for (std::size_t m = 0; m < orders.size(); ++m)
    for (int k = 0; k < orders[m]; ++k)
      lines.push_back(order_line("o" + std::to_string(n++), 1, "c" + std::to_string(k), "p", "10", at(static_cast<int>(m), k % 60)));
  return lines;
}

TEST(Alerts, OrderSpikeAndDropAgainstTheTrailingMinutes) {
  const Config c = only(R"({"order_pattern":{"trailing":"10m","min_history":"10m","z":3,"z_resolve":1,"min_orders":5}})");
  // A first minute (never judged nor history: inputs start inside a minute), ten ordinary minutes
  // (19..21 orders), a spike, ten ordinary ones, an empty minute, then more.
  std::vector<int> counts = {5, 20, 19, 21, 20, 19, 21, 20, 19, 21, 20, 60, 20, 19, 21, 20, 19, 21, 20, 19, 21, 20, 0, 20, 20};
  for (std::size_t batch : {1u, 7u, 1000u}) {
    auto out = run_lines(minutes_of(counts), c, batch);
    const auto spike = with(out.alerts, "order_spike");
    ASSERT_EQ(spike.size(), 2u) << batch;
    EXPECT_NE(spike[0].find(R"("state":"firing","subject":"metric:orders_per_minute","event_time":"2024-05-01T08:11:00Z")"), std::string::npos) << spike[0];
    EXPECT_NE(spike[1].find(R"("state":"resolved")"), std::string::npos);
    const auto drop = with(out.alerts, "order_drop");
    ASSERT_GE(drop.size(), 1u);
    EXPECT_NE(drop[0].find(R"("state":"firing","subject":"metric:orders_per_minute","event_time":"2024-05-01T08:22:00Z")"), std::string::npos) << drop[0];
    EXPECT_EQ(with(out.alerts, "revenue_spike").size(), 2u);
  }
  // Control: steady minutes never fire.
  auto calm = run_lines(minutes_of({20, 19, 21, 20, 19, 21, 20, 19, 21, 20, 21, 19, 20, 20}), c, 1000);
  EXPECT_TRUE(calm.alerts.empty()) << calm.alerts.front();
}

TEST(Alerts, PartialFirstAndLastMinutesAreNeitherJudgedNorHistory) {
  const Config c = only(R"({"order_pattern":{"trailing":"30m","min_history":"10m","z":3,"z_resolve":1,"min_orders":5}})");
  const std::vector<int> steady = {20, 19, 21, 20, 19, 21, 20, 19, 21, 20};
  // A partial first minute (1 order) in the history would widen the deviation so much that the
  // drop to 5 orders would not fire; a partial last minute (3 orders) would fire a drop of its own.
  std::vector<int> counts = {1};
  counts.insert(counts.end(), steady.begin(), steady.end());
  counts.push_back(5);
  counts.insert(counts.end(), steady.begin(), steady.end());
  counts.push_back(3);
  for (std::size_t batch : {1u, 1000u}) {
    auto out = run_lines(minutes_of(counts), c, batch);
    const auto drop = with(out.alerts, R"("rule":"order_drop","severity":"warning","state":"firing")");
    ASSERT_EQ(drop.size(), 1u) << batch;
    EXPECT_NE(drop[0].find(R"("event_time":"2024-05-01T08:11:00Z")"), std::string::npos) << drop[0];
  }
}

TEST(Alerts, CustomerBurstAndHighValueOncePerWindow) {
  const Config c = only(R"({"customer_window":"10m","customer_burst":{"orders":3},"high_value_customer":{"revenue":100},
                            "high_value_order":{"revenue":"80.00"}})");
  const std::vector<std::string> lines = {
      order_line("a", 1, "whale", "p", "30", at(0, 0)), order_line("b", 1, "whale", "p", "30", at(1, 0)),
      order_line("d", 1, "whale", "p", "30", at(2, 0)), order_line("e", 1, "whale", "p", "30", at(3, 0)),  // 4th order, 120.00
      order_line("f", 1, "whale", "p", "30", at(4, 0)),                                                   // same episodes
      order_line("g", 1, "small", "p", "30", at(4, 1)), order_line("h", 1, "small", "p", "30", at(4, 2)),  // control
      order_line("i", 1, "big", "p", "90", at(5, 0)),                                                     // one big order
      order_line("j", 1, "x", "p", "1", at(12, 0))};
  for (std::size_t batch : {1u, 3u, 1000u}) {
    auto out = run_lines(lines, c, batch);
    const auto burst = with(out.alerts, "customer_burst");
    ASSERT_EQ(burst.size(), 2u) << batch;
    EXPECT_NE(burst[0].find(R"("state":"firing","subject":"customer:whale","event_time":"2024-05-01T08:03:00Z","values":{"orders":4,"limit":3})"), std::string::npos) << burst[0];
    EXPECT_NE(burst[1].find(R"("state":"resolved","subject":"customer:whale","event_time":"2024-05-01T08:10:00Z")"), std::string::npos) << burst[1];
    // The window's close repeats the firing record's numbers and keeps its id.
    EXPECT_NE(burst[1].find(R"("values":{"orders":4,"limit":3},"message":"window closed"})"), std::string::npos) << burst[1];
    EXPECT_EQ(burst[0].substr(0, 23), burst[1].substr(0, 23)) << "the same id";  // {"id":" and 16 hex digits
    const auto value = with(out.alerts, "\"high_value_customer\"");
    ASSERT_EQ(value.size(), 2u);
    EXPECT_NE(value[0].find(R"("event_time":"2024-05-01T08:03:00Z","values":{"revenue":120.00,"threshold":100.00})"), std::string::npos) << value[0];
    const auto order = with(out.alerts, "high_value_order");
    ASSERT_EQ(order.size(), 2u);
    EXPECT_NE(order[0].find(R"("subject":"customer:big","event_time":"2024-05-01T08:05:00Z")"), std::string::npos);
    EXPECT_TRUE(with(out.alerts, "customer:small").empty());
    // Released in event-time order: the whale's firing records before the big order's.
    EXPECT_LT(out.alerts[0].find("whale"), std::string::npos);
  }
}

// Each customer rule alone, at its exact limit: a burst fires above its order count, the value
// rules at their threshold. Every record passes the per-record check against the enabled limits
// first, so a limit that check got wrong, or a disabled rule's limit it let through, shows here.
TEST(Alerts, EachCustomerRuleAloneFiresExactlyAtItsLimit) {
  struct Case {
    std::string rules, rule, fires_at;
  };
  const std::vector<Case> cases = {
      {R"({"customer_burst":{"orders":2}})", "customer_burst", at(2, 0)},
      {R"({"high_value_customer":{"revenue":"50.00"}})", "high_value_customer", at(1, 0)},
      {R"({"high_value_order":{"revenue":"30.00"}})", "high_value_order", at(1, 0)},
  };
  const std::vector<std::string> lines = {
      order_line("a", 1, "c", "p", "20.00", at(0, 0)),  // 1 order, 20.00
      order_line("b", 1, "c", "p", "30.00", at(1, 0)),  // 2 orders, 50.00; a line of exactly 30.00
      order_line("d", 1, "c", "p", "29.99", at(2, 0)),  // 3 orders
      order_line("e", 1, "x", "p", "29.99", at(3, 0))};
  for (const Case& k : cases) {
    const auto out = run_lines(lines, only(k.rules), 1);
    const auto firing = with(out.alerts, R"("state":"firing")");
    ASSERT_EQ(firing.size(), 1u) << k.rule;
    EXPECT_NE(firing[0].find("\"" + k.rule + "\""), std::string::npos) << firing[0];
    EXPECT_NE(firing[0].find(R"("subject":"customer:c","event_time":")" + k.fires_at + "\""), std::string::npos) << firing[0];
  }
}

// Runs lines [0, cut) through one engine, a batch per line, restores its checkpoint into a fresh
// engine, runs the rest there and returns the alerts of both, joined.
std::vector<std::string> alerts_across_restore(const std::vector<std::string>& lines, const Config& c, std::size_t cut) {
  Engine original(c, nullptr);
  Collected before;
  original.add_sink(before);
  EventBatch batch;
  for (std::size_t i = 0; i < cut; ++i) {
    batch.clear();
    batch.add(lines[i], i + 1, &test_origin(), {});
    batch.seal();
    original.process(batch);
  }
  const std::string bytes = checkpoint_bytes(original);
  Engine restored(c, nullptr);
  restore(restored, bytes);
  Collected after;
  restored.add_sink(after);
  batch.clear();
  for (std::size_t i = cut; i < lines.size(); ++i) batch.add(lines[i], i + 1, &test_origin(), {});
  batch.seal();
  restored.process(batch);
  restored.finish();
  std::vector<std::string> joined = before.alerts;
  joined.insert(joined.end(), after.alerts.begin(), after.alerts.end());
  return joined;
}

// Packed customer sums hold 40 bits of cents and 20 bits of orders; past them a customer's sums
// move to the window's spilled map. Nothing may change at the edges: in place, nothing happens
// until the sums fit, and fired bits keep the sums.
TEST(CustomerSums, PackedFieldsRefuseWhatWouldNotFitAndChangeNothing) {
  CustomerSums s;
  ASSERT_TRUE(s.try_add(static_cast<Cents>(CustomerSums::kRevenueMask) - 5, true));
  ASSERT_TRUE(s.try_add(5, false));
  EXPECT_EQ(s.get().revenue, static_cast<Cents>(CustomerSums::kRevenueMask));
  EXPECT_FALSE(s.try_add(1, false));
  EXPECT_FALSE(s.try_add(-1, false));
  EXPECT_EQ(s.get().revenue, static_cast<Cents>(CustomerSums::kRevenueMask));
  EXPECT_EQ(s.get().orders, 1);
  CustomerSums::Wide fired = s.get();
  fired.fired = 5;
  ASSERT_TRUE(CustomerSums::fits(fired));
  s = CustomerSums::packed(fired);
  EXPECT_EQ(s.get().fired, 5);
  EXPECT_EQ(s.get().revenue, static_cast<Cents>(CustomerSums::kRevenueMask));
  EXPECT_FALSE(s.spilled());

  CustomerSums o;
  for (std::uint64_t i = 0; i < CustomerSums::kOrderMask; ++i) ASSERT_TRUE(o.try_add(0, true));
  EXPECT_EQ(o.get().orders, static_cast<std::int32_t>(CustomerSums::kOrderMask));
  EXPECT_FALSE(o.try_add(0, true));
  EXPECT_TRUE(o.try_add(7, false));  // revenue alone still fits
  EXPECT_EQ(o.get().orders, static_cast<std::int32_t>(CustomerSums::kOrderMask));
  EXPECT_EQ(o.get().revenue, 7);
  EXPECT_EQ(o.get().fired, 0);

  CustomerSums::Wide w{123'456, 42, 3};
  ASSERT_TRUE(CustomerSums::fits(w));
  const CustomerSums p = CustomerSums::packed(w);
  EXPECT_EQ(p.get().revenue, 123'456);
  EXPECT_EQ(p.get().orders, 42);
  EXPECT_EQ(p.get().fired, 3);
  EXPECT_FALSE(CustomerSums::fits({-1, 0, 0}));
  EXPECT_FALSE(CustomerSums::fits({static_cast<Cents>(CustomerSums::kRevenueMask) + 1, 0, 0}));
  EXPECT_FALSE(CustomerSums::fits({0, static_cast<std::int32_t>(CustomerSums::kOrderMask) + 1, 0}));
  EXPECT_FALSE(CustomerSums::fits({0, 0, 8}));
  CustomerSums m;
  m.mark_spilled();
  EXPECT_TRUE(m.spilled());

  // Spilled sums saturate rather than wrap: a customer past 2^63 cents stays past every limit.
  CustomerSums::Wide whale{CustomerSums::Wide::kMaxRevenue - 10, 1, 0};
  whale.add(10, false);
  EXPECT_EQ(whale.revenue, CustomerSums::Wide::kMaxRevenue);
  whale.add(10'000'000'000'000'000, true);
  EXPECT_EQ(whale.revenue, CustomerSums::Wide::kMaxRevenue);
  EXPECT_EQ(whale.orders, 2);
}

// A customer whose sums outgrow the packed fields ($11 billion) keeps exact sums: the alerts carry
// them to the cent, whatever the batch size, and a restore in the middle changes nothing.
TEST(Alerts, SumsBeyondThePackedFieldsStayExactAcrossARestore) {
  const Config c = only(R"({"customer_window":"10m","customer_burst":{"orders":2},
                            "high_value_customer":{"revenue":"10000000000.00"}})");
  const std::vector<std::string> lines = {
      order_line("a", 1, "whale", "p", "4000000000.00", at(0, 0), 2),  // 8,000,000,000.00: fits 40 bits of cents
      order_line("b", 1, "whale", "p", "4000000000.00", at(1, 0), 2),  // 16,000,000,000.00: spilled
      order_line("c", 1, "whale", "p", "0.01", at(2, 0)),              // 3rd order, from the spilled sums
      order_line("d", 1, "small", "p", "1.00", at(3, 0)),
      order_line("e", 1, "x", "p", "1.00", at(12, 0))};
  const auto whole = run_lines(lines, c, 1000);
  const auto value = with(whole.alerts, "\"high_value_customer\"");
  ASSERT_EQ(value.size(), 2u);
  EXPECT_NE(value[0].find(R"("event_time":"2024-05-01T08:01:00Z","values":{"revenue":16000000000.00,"threshold":10000000000.00})"), std::string::npos) << value[0];
  const auto burst = with(whole.alerts, "customer_burst");
  ASSERT_EQ(burst.size(), 2u);
  EXPECT_NE(burst[0].find(R"("subject":"customer:whale","event_time":"2024-05-01T08:02:00Z","values":{"orders":3,"limit":2})"), std::string::npos) << burst[0];
  EXPECT_TRUE(with(whole.alerts, "customer:small").empty());
  EXPECT_EQ(run_lines(lines, c, 1).alerts, whole.alerts);
  // Cut after b or c, the whale's sums are spilled in the checkpoint: c's burst alert (3 orders)
  // and the episodes' resolution need them restored exactly.
  for (std::size_t cut : {std::size_t{1}, std::size_t{2}, std::size_t{3}})
    EXPECT_EQ(alerts_across_restore(lines, c, cut), whole.alerts) << "cut at " << cut;
}

TEST(Alerts, RestoredEngineDoesNotRepeatAnEpisode) {
  const Config c = only(R"({"customer_burst":{"orders":1},"customer_window":"10m"})");
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) lines.push_back(order_line("o" + std::to_string(i), 1, "c" + std::to_string(i % 3), "p", "5", at(i, 0)));
  const auto whole = run_lines(lines, c, 1000);
  for (std::size_t cut : {std::size_t{2}, std::size_t{11}, std::size_t{25}})
    EXPECT_EQ(alerts_across_restore(lines, c, cut), whole.alerts) << "cut at " << cut;
}

TEST(Alerts, HealthRulesByTheInjectedClock) {
  const Config c = Config::parse_json(R"({"alerts":{"batch_slow":{"batches":2},"watermark_lag":{"max":"10s"}}})", "t");
  Engine engine(c, nullptr);
  Collected out;
  engine.add_sink(out);
  HealthInputs slow{0.3, 0.1, 100, 0, 0, 1.0, std::nullopt, std::nullopt, std::nullopt};
  engine.report_health(slow, 1'000);
  EXPECT_TRUE(out.alerts.empty());
  engine.report_health(slow, 2'000);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].find(R"("rule":"batch_slow","severity":"warning","state":"firing","subject":"metric:batch_duration","wall_time":"1970-01-01T00:00:02Z")"), std::string::npos) << out.alerts[0];
  engine.report_health(slow, 3'000);
  EXPECT_EQ(out.alerts.size(), 1u);  // one per episode
  EXPECT_EQ(engine.firing_alerts()[static_cast<std::size_t>(AlertRule::batch_slow)][1], 1u);
  HealthInputs fast{0.01, 0.1, 100, 0, 0, 20.0, std::nullopt, std::nullopt, std::nullopt};
  engine.report_health(fast, 4'000);  // lag 20 s > 10 s fires; one fast batch does not resolve
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_NE(out.alerts[1].find(R"("rule":"watermark_lag")"), std::string::npos);
  engine.report_health(fast, 5'000);
  ASSERT_EQ(out.alerts.size(), 3u);
  EXPECT_NE(out.alerts[2].find(R"("rule":"batch_slow","severity":"warning","state":"resolved")"), std::string::npos) << out.alerts[2];
}

TEST(Alerts, ShareLagAndCheckpointRulesFireAboveTheirBoundsOnly) {
  const Config c = Config::parse_json(R"({"alerts":{"watermark_lag":{"enabled":false},
      "late_share":{"max":0.2,"min_records":100},"rejected_share":{"max":0.1,"min_records":100},
      "kafka_lag":{"max":1000},"checkpoint_age":{"max":"1m"}}})", "t");
  Engine engine(c, nullptr);
  Collected out;
  engine.add_sink(out);
  auto inputs = [](std::uint64_t records, std::uint64_t late, std::uint64_t rejected, std::int64_t lag, double age) {
    return HealthInputs{0.01, 1.0, records, late, rejected, std::nullopt, lag, age, std::nullopt};
  };
  // Controls: at the bounds, and far above them in a batch too small to judge.
  engine.report_health(inputs(100, 20, 10, 1000, 60.0), 1'000);
  engine.report_health(inputs(99, 99, 99, 1000, 60.0), 2'000);
  EXPECT_TRUE(out.alerts.empty()) << out.alerts.front();
  engine.report_health(inputs(100, 21, 11, 1001, 60.5), 3'000);
  ASSERT_EQ(out.alerts.size(), 4u);
  for (const char* rule : {"late_share", "rejected_share", "kafka_lag", "checkpoint_age"})
    EXPECT_EQ(with(out.alerts, rule).size(), 1u) << rule;
  // Still above: nothing new. Between 80% and 100% of the bound: still firing (hysteresis).
  engine.report_health(inputs(100, 30, 30, 5000, 90.0), 4'000);
  engine.report_health(inputs(100, 17, 9, 900, 50.0), 5'000);
  EXPECT_EQ(out.alerts.size(), 4u);
  engine.report_health(inputs(100, 15, 7, 700, 40.0), 6'000);
  ASSERT_EQ(out.alerts.size(), 8u);
  for (std::size_t i = 4; i < 8; ++i) EXPECT_NE(out.alerts[i].find(R"("state":"resolved")"), std::string::npos) << out.alerts[i];
}

TEST(Alerts, KafkaBrokerDownFiresOncePerOutage) {
  const Config c = Config::parse_json(R"({"alerts":{"watermark_lag":{"enabled":false}}})", "t");
  Engine engine(c, nullptr);
  Collected out;
  engine.add_sink(out);
  auto with_brokers = [](std::optional<bool> up) {
    return HealthInputs{0.01, 1.0, 0, 0, 0, std::nullopt, std::nullopt, std::nullopt, up};
  };
  engine.report_health(with_brokers(std::nullopt), 1'000);  // no Kafka source, or not contacted yet
  engine.report_health(with_brokers(true), 2'000);
  EXPECT_TRUE(out.alerts.empty());
  engine.report_health(with_brokers(false), 3'000);
  engine.report_health(with_brokers(false), 4'000);
  ASSERT_EQ(out.alerts.size(), 1u);
  EXPECT_NE(out.alerts[0].find(R"("rule":"kafka_broker_down","severity":"critical","state":"firing")"), std::string::npos)
      << out.alerts[0];
  engine.report_health(with_brokers(true), 5'000);
  ASSERT_EQ(out.alerts.size(), 2u);
  EXPECT_NE(out.alerts[1].find(R"("state":"resolved")"), std::string::npos) << out.alerts[1];
}

TEST(Alerts, ConfigRejectsUnknownKeysByName) {
  EXPECT_THROW(Config::parse_json(R"({"alerts":{"low_stock":{}}})", "c.json"), ConfigError);
  try {
    Config::parse_json(R"({"alerts":{"customer_burst":{"order":3}}})", "c.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'alerts.customer_burst.order': unknown key"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Config::parse_json(R"({"alerts":{"low_inventory":{"severity":"loud"}}})", "c.json"), ConfigError);
  const Config c = Config::parse_json(R"({"alerts":{"high_value_order":{"revenue":"12.34","enabled":false}}})", "c.json");
  EXPECT_EQ(c.alerts.high_value_order.revenue, 1234);
  EXPECT_FALSE(c.alerts.high_value_order.enabled);
}

TEST(Alerts, BurstLimitIsBoundedSoCountsFitTheirSlots) {
  const Config ok = Config::parse_json(R"({"alerts":{"customer_burst":{"orders":1000000000}}})", "c.json");
  EXPECT_EQ(ok.alerts.customer_burst.orders, 1'000'000'000);
  try {
    Config::parse_json(R"({"alerts":{"customer_burst":{"orders":1000000001}}})", "c.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'alerts.customer_burst.orders' must be at most 1000000000"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orderpulse
