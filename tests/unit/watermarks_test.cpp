// Per-source watermarks: the engine's is the slowest source's, idle sources stop holding it back
// only in the server (an injected clock), and which source holds it is reported.

#include <gtest/gtest.h>

#include "orderpulse/engine/watermarks.h"

namespace orderpulse {
namespace {

TEST(SourceWatermarks, SlowestSourceHoldsTheWatermark) {
  SourceWatermarks w(30'000);
  EXPECT_EQ(w.engine_watermark(), kMinTime);
  EXPECT_FALSE(w.holding_source().has_value());
  w.observe(1, 100'000);
  w.observe(2, 50'000);
  EXPECT_EQ(w.engine_watermark(), 20'000);
  EXPECT_EQ(w.holding_source(), 2u);
  w.observe(2, 200'000);
  EXPECT_EQ(w.engine_watermark(), 70'000);
  EXPECT_EQ(w.holding_source(), 1u);
}

TEST(SourceWatermarks, WithoutAClockNothingIsEverIdle) {
  SourceWatermarks w(0);
  w.set_idle_timeout(1000);
  w.observe(1, 5'000);
  w.observe(2, 9'000);
  EXPECT_FALSE(w.is_idle(1));
  EXPECT_EQ(w.engine_watermark(), 5'000);
}

// Sources 1 (max 5 s) and 2 (max 9 s), both just seen at wall time 1000 s; no delay.
SourceWatermarks two_sources(DurationMs idle_timeout) {
  SourceWatermarks w(0);
  w.set_idle_timeout(idle_timeout);
  w.set_now(1'000'000);
  w.touch(1);
  w.touch(2);
  w.observe(1, 5'000);
  w.observe(2, 9'000);
  return w;
}

TEST(SourceWatermarks, AnIdleSourceStopsHoldingTheWatermarkUntilItSpeaksAgain) {
  SourceWatermarks w = two_sources(2'000);
  EXPECT_EQ(w.engine_watermark(), 5'000);
  w.set_now(1'002'000);  // exactly the timeout: not idle yet
  w.touch(2);
  EXPECT_EQ(w.engine_watermark(), 5'000);
  w.set_now(1'002'001);
  EXPECT_TRUE(w.is_idle(1));
  EXPECT_EQ(w.idle_sources(), 1u);
  EXPECT_EQ(w.holding_source(), 2u);
  EXPECT_EQ(w.engine_watermark(), 9'000);
  w.touch(1);  // source 1 delivers again: it holds the watermark again
  EXPECT_EQ(w.engine_watermark(), 5'000);
  w.set_now(1'010'000);  // every source idle: the slowest of them
  EXPECT_EQ(w.idle_sources(), 2u);
  EXPECT_EQ(w.engine_watermark(), 5'000);
}

TEST(SourceWatermarks, AnAnnouncedSourceHoldsTheWatermarkBeforeItsFirstRecord) {
  SourceWatermarks w(0);
  w.set_idle_timeout(2'000);
  w.set_now(1'000'000);
  w.announce(1);  // two partitions assigned; only partition 2 has delivered so far
  w.announce(2);
  w.touch(2);
  w.observe(2, 9'000);
  EXPECT_EQ(w.holding_source(), 1u);
  EXPECT_EQ(w.engine_watermark(), kMinTime);
  w.set_now(1'001'000);
  w.touch(1);
  w.observe(1, 5'000);  // its first record: an ordinary source from now on
  EXPECT_EQ(w.engine_watermark(), 5'000);
  w.announce(3);  // a partition that never delivers stops holding once idle
  EXPECT_EQ(w.engine_watermark(), kMinTime);
  w.set_now(1'003'001);
  w.touch(1);
  w.touch(2);
  EXPECT_TRUE(w.is_idle(3));
  EXPECT_EQ(w.engine_watermark(), 5'000);
}

// A Kafka partition revoked in a rebalance stops holding the watermark at once, whatever the idle
// timeout and even if records of it still arrive; assigned again, it holds again.
TEST(SourceWatermarks, ARetiredSourceStopsHoldingTheWatermarkUntilAnnouncedAgain) {
  SourceWatermarks w = two_sources(600'000);
  EXPECT_EQ(w.engine_watermark(), 5'000);
  w.retire(1);
  EXPECT_EQ(w.holding_source(), 2u);
  EXPECT_EQ(w.engine_watermark(), 9'000);
  EXPECT_EQ(w.idle_sources(), 0u);  // gone, not idle
  w.touch(1);  // a batch read before the revocation still holds records of it
  w.observe(1, 6'000);
  EXPECT_EQ(w.engine_watermark(), 9'000);
  EXPECT_EQ(w.max_time(1), 6'000);  // its progress is kept for when it comes back
  w.announce(1);  // assigned to this server again
  EXPECT_EQ(w.engine_watermark(), 6'000);
  w.retire(1);
  w.retire(2);  // every source gone: the slowest of them, as when every one is idle
  EXPECT_EQ(w.engine_watermark(), 6'000);
}

TEST(SourceWatermarks, RestoredSourcesCountFromWhenTheClockStarted) {
  SourceWatermarks w(0);
  Encoder out;
  w.observe(7, 1'000);
  w.observe(8, 2'000);
  w.encode(out);
  SourceWatermarks r(0);
  Decoder in(out.buffer());
  r.decode(in);
  r.set_idle_timeout(500);
  r.set_now(10'000);
  r.touch(8);
  EXPECT_EQ(r.engine_watermark(), 1'000);
  r.set_now(10'501);
  r.touch(8);
  EXPECT_EQ(r.engine_watermark(), 2'000);  // 7 never spoke since the restart
}

}  // namespace
}  // namespace orderpulse
