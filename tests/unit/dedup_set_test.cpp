#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "orderpulse/state/dedup_set.h"

namespace orderpulse {
namespace {

bool seen(DedupSet& d, const std::string& id, std::int32_t line, TimestampMs t, TimestampMs min_time) {
  return d.seen_or_insert(dedup_key_hash(id, line), id, line, t, min_time);
}

TEST(DedupSet, ExactKeysAcrossGenerations) {
  DedupSet d;
  EXPECT_FALSE(seen(d, "o1", 1, 100, kMinTime));
  EXPECT_TRUE(seen(d, "o1", 1, 150, kMinTime));
  EXPECT_FALSE(seen(d, "o1", 2, 100, kMinTime));   // another line of the same order
  EXPECT_FALSE(seen(d, "o10", 1, 100, kMinTime));  // a longer id sharing the prefix
  // Nothing is old enough yet: the previous generation is empty, so the first eviction only
  // rotates; every key is still found.
  d.evict_older_than(50);
  EXPECT_TRUE(seen(d, "o1", 1, 200, 50));
  EXPECT_FALSE(seen(d, "o2", 1, 300, 50));
  EXPECT_EQ(d.size(), 4u);
  // Keys at 100 are older than the horizon's start (150): not duplicates; refreshed at 400.
  EXPECT_FALSE(seen(d, "o1", 1, 400, 150));
  EXPECT_TRUE(seen(d, "o1", 1, 410, 150));
  // Once every key of the older generation (max time 100) has expired, it is dropped whole.
  d.evict_older_than(250);
  EXPECT_EQ(d.size(), 2u);  // o2 (300) and the refreshed o1 (400) live on
  EXPECT_TRUE(seen(d, "o2", 1, 500, 250));
  EXPECT_TRUE(seen(d, "o1", 1, 500, 250));
  EXPECT_FALSE(seen(d, "o10", 1, 500, 250));
}

// Keys whose hashes share one home group fill it and spill into the groups after it: the inline
// path for new keys and the full search must both walk past full groups, in both generations.
TEST(DedupSet, KeysSpilledPastFullGroupsAreFoundInBothGenerations) {
  // A new table has 2^15 slots in groups of 8: the home group is bits 3..14 of the hash.
  constexpr std::uint64_t kHomeMask = ((std::uint64_t{1} << 15) - 1) & ~std::uint64_t{7};
  std::vector<std::string> ids;
  const std::uint64_t home = dedup_key_hash("h0", 1) & kHomeMask;
  for (int i = 0; ids.size() < 30; ++i) {
    std::string id = "h" + std::to_string(i);
    if ((dedup_key_hash(id, 1) & kHomeMask) == home) ids.push_back(id);
  }
  DedupSet d;
  for (std::size_t k = 0; k < 20; ++k) ASSERT_FALSE(seen(d, ids[k], 1, 100, kMinTime)) << k;  // three groups' worth
  for (std::size_t k = 0; k < 20; ++k) EXPECT_TRUE(seen(d, ids[k], 1, 110, kMinTime)) << k;
  d.evict_older_than(50);  // rotates: the 20 keys are now the previous generation
  for (std::size_t k = 20; k < 30; ++k) ASSERT_FALSE(seen(d, ids[k], 1, 200, 50)) << k;
  for (std::size_t k = 0; k < 30; ++k) EXPECT_TRUE(seen(d, ids[k], 1, 210, 50)) << k;
  EXPECT_FALSE(seen(d, ids[5], 2, 210, 50));  // another line of a held order
  EXPECT_EQ(d.size(), 31u);
}

TEST(DedupSet, MemoryFollowsTheHorizon) {
  DedupSet d;
  // One key per millisecond, a horizon of 10'000 ms, eviction every 1'000 ms.
  std::size_t peak = 0;
  for (TimestampMs t = 0; t < 200'000; ++t) {
    const TimestampMs min_time = t - 10'000;
    EXPECT_FALSE(seen(d, "o" + std::to_string(t), 1, t, min_time));
    if (t % 1'000 == 0) d.evict_older_than(min_time);
    peak = std::max(peak, d.size());
  }
  // Live keys span at most two generations of about horizon + eviction step each.
  EXPECT_LE(peak, 2u * 11'000u + 1'000u);
  EXPECT_GE(d.size(), 10'000u);
}

// After growth (which re-slots every key by a hash taken again from the key) and rotation, every
// key must still be found in the previous generation, and new keys must still go in.
TEST(DedupSet, EveryKeyIsFoundInThePreviousGenerationAfterGrowth) {
  DedupSet d;
  auto id = [](int i) { return (i % 3 ? "o" : "a-longer-order-identifier-") + std::to_string(i); };
  for (int i = 0; i < 200'000; ++i) ASSERT_FALSE(seen(d, id(i), 1 + i % 4, i, kMinTime));
  d.evict_older_than(0);  // all 200k keys move to the previous generation
  for (int i = 0; i < 200'000; ++i) ASSERT_TRUE(seen(d, id(i), 1 + i % 4, 300'000, 0)) << id(i);
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_FALSE(seen(d, id(i), 5, 300'000, 0)) << id(i);  // another line: a new key
    ASSERT_FALSE(seen(d, "n" + std::to_string(i), 1, 300'000, 0));
  }
  EXPECT_EQ(d.size(), 600'000u);
}

// The current generation growing far past the previous one's size must leave every key of the
// previous one findable, and rotations afterwards reuse the emptied table.
TEST(DedupSet, ThePreviousGenerationSurvivesTheCurrentOnesGrowth) {
  DedupSet d;
  auto id = [](const char* prefix, int i) { return prefix + std::to_string(i); };
  for (int i = 0; i < 5'000; ++i) ASSERT_FALSE(seen(d, id("p", i), 1, 100, kMinTime));
  d.evict_older_than(0);  // the 5k keys become the previous generation
  for (int i = 0; i < 250'000; ++i) ASSERT_FALSE(seen(d, id("c", i), 1, 200, 0));  // grows 16k -> 512k slots
  for (int i = 0; i < 5'000; ++i) ASSERT_TRUE(seen(d, id("p", i), 1, 300, 0)) << i;
  for (int i = 0; i < 250'000; i += 13) ASSERT_TRUE(seen(d, id("c", i), 1, 300, 0)) << i;
  EXPECT_EQ(d.size(), 255'000u);
  // The 5k expire; the 250k become the previous generation and the emptied table takes new keys.
  d.evict_older_than(150);
  EXPECT_EQ(d.size(), 250'000u);
  for (int i = 0; i < 5'000; ++i) ASSERT_FALSE(seen(d, id("p", i), 1, 400, 150)) << i;  // expired: new again
  for (int i = 0; i < 250'000; i += 13) ASSERT_TRUE(seen(d, id("c", i), 1, 400, 150)) << i;
  EXPECT_EQ(d.size(), 255'000u);
}

// A first generation that fills up is sized for the keys its horizon will hold, judged from the
// event-time span of the keys so far, rather than doubled again and again; every key stays findable.
TEST(DedupSet, AFirstGenerationGrowsTowardsWhatItsHorizonHolds) {
  constexpr DurationMs kHorizon = 600'000;  // one key per millisecond: 600k keys a horizon
  DedupSet d(kHorizon);
  const std::size_t first = d.capacity();
  int i = 0;
  for (; d.capacity() == first; ++i) ASSERT_FALSE(seen(d, "o" + std::to_string(i), 1, i, kMinTime));
  // 600k keys at a load of at most 0.7 need 2^20 slots; doubling would have given 2 * first.
  EXPECT_EQ(d.capacity(), std::size_t{1} << 20);
  for (; i < 700'000; ++i) ASSERT_FALSE(seen(d, "o" + std::to_string(i), 1, i, kMinTime));
  EXPECT_EQ(d.capacity(), std::size_t{1} << 20);  // no growth on the way
  for (int k = 0; k < 700'000; k += 7) ASSERT_TRUE(seen(d, "o" + std::to_string(k), 1, 700'000, kMinTime)) << k;
}

TEST(DedupSet, GrowthWithoutAUsableSpanDoublesOrStopsAtTheProjectionLimit) {
  auto fill_until_growth = [](DedupSet& d, TimestampMs step) {
    const std::size_t first = d.capacity();
    for (int i = 0; d.capacity() == first; ++i) EXPECT_FALSE(seen(d, "k" + std::to_string(i), 1, 1000 + i * step, kMinTime));
    return std::pair{first, d.capacity()};
  };
  DedupSet no_horizon;  // nothing to project from: doubles
  auto [a0, a1] = fill_until_growth(no_horizon, 1);
  EXPECT_EQ(a1, 2 * a0);
  DedupSet one_time(600'000);  // every key at the same time: no span
  auto [b0, b1] = fill_until_growth(one_time, 0);
  EXPECT_EQ(b1, 2 * b0);
  DedupSet long_horizon(3'600'000);  // an hour of horizon from 23 s of keys projects past the limit: capped
  auto [c0, c1] = fill_until_growth(long_horizon, 1);
  EXPECT_EQ(c1, DedupSet::kProjectionLimit);
}

// What a checkpoint writes from both generations decodes to a set that answers the same.
TEST(DedupSet, EncodedKeysOfBothGenerationsDecodeToTheSameAnswers) {
  DedupSet d;
  for (int i = 0; i < 30'000; ++i) ASSERT_FALSE(seen(d, "a" + std::to_string(i), 1 + i % 3, 1'000 + i, kMinTime));
  d.evict_older_than(500);
  for (int i = 0; i < 30'000; ++i) ASSERT_FALSE(seen(d, "b" + std::to_string(i), 1, 50'000 + i, 500));
  const DedupSet::Frozen frozen = d.freeze();
  // Keys older than 10'000 are left out: a1..a8999 can never make a duplicate again.
  Encoder out;
  DedupSet::encode(frozen, 10'000, out);
  DedupSet restored;
  Decoder in(out.buffer());
  restored.decode(in);
  EXPECT_EQ(restored.size(), 21'000u + 30'000u);
  for (int i = 9'000; i < 30'000; i += 7) EXPECT_TRUE(seen(restored, "a" + std::to_string(i), 1 + i % 3, 90'000, 10'000)) << i;
  for (int i = 0; i < 30'000; i += 7) EXPECT_TRUE(seen(restored, "b" + std::to_string(i), 1, 90'000, 10'000)) << i;
  EXPECT_FALSE(seen(restored, "a1", 2, 90'000, 10'000));
}

// A checkpoint's key longer than an entry can hold (only damaged data has one) is a CodecError,
// which restore reports as a damaged checkpoint, not a length_error from deep in the arena.
TEST(DedupSet, DecodingAnOverlongKeyIsACodecError) {
  for (const std::size_t length : {DedupSet::kMaxKeyBytes, DedupSet::kMaxKeyBytes + 1}) {
    Encoder keys;
    keys.str(std::string(length, 'o'));
    keys.svarint(1);
    keys.i64(1'000);
    Encoder out;
    out.varint(1);
    out.bytes(keys.buffer().data(), keys.buffer().size());
    Decoder in(out.buffer());
    DedupSet d;
    if (length <= DedupSet::kMaxKeyBytes) {
      d.decode(in);
      EXPECT_EQ(d.size(), 1u);
    } else {
      EXPECT_THROW(d.decode(in), CodecError);
    }
  }
}

}  // namespace
}  // namespace orderpulse
