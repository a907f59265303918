// The hash tables behind the hot path: FlatTable (sharded sums), Interner (product and category
// ids) and DedupSet's fingerprint groups, each checked against a plain std::map.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "orderpulse/common/bytes.h"
#include "orderpulse/common/huge_pages.h"
#include "orderpulse/state/cow_chunks.h"
#include "orderpulse/state/cow_shards.h"
#include "orderpulse/state/dedup_set.h"
#include "orderpulse/state/flat_table.h"
#include "orderpulse/state/interner.h"
#include "orderpulse/state/pane_store.h"
#include "orderpulse/state/spill_shards.h"

namespace orderpulse {
namespace {

// Containers on HugePageAllocator (a batch's text, records and events) keep their contents as
// they grow from small blocks (operator new) into huge-page blocks and shrink back, and the large
// blocks are huge-page aligned.
TEST(HugePageAllocator, ContainersKeepTheirContentsAcrossBothKindsOfBlock) {
  std::vector<std::uint64_t, HugePageAllocator<std::uint64_t>> v;
  constexpr std::size_t kCount = 3 * kHugePageBytes / sizeof(std::uint64_t);  // 6 MiB
  for (std::uint64_t i = 0; i < kCount; ++i) v.push_back(i * 2654435761u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % kHugePageBytes, 0u);
  for (std::uint64_t i = 0; i < kCount; i += 4099) ASSERT_EQ(v[i], i * 2654435761u);
  v.resize(10);
  v.shrink_to_fit();  // back to a small block
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(v[i], i * 2654435761u);
  std::basic_string<char, std::char_traits<char>, HugePageAllocator<char>> text;
  for (int i = 0; i < 300'000; ++i) text += "0123456789";
  EXPECT_EQ(text.size(), 3'000'000u);
  EXPECT_EQ(text.substr(2'999'990), "0123456789");
}

TEST(FlatTable, MatchesAMapIncludingKeyZero) {
  FlatTable<std::uint64_t, std::int64_t> table;
  std::map<std::uint64_t, std::int64_t> want;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    // Dense ids, a few huge keys and 0 (which the table keeps aside, 0 marking an empty slot).
    const std::uint64_t key = i % 10 == 0 ? rng() : i % 97 == 0 ? 0 : static_cast<std::uint64_t>(rng() % 50'000);
    table[key] += i;
    want[key] += i;
  }
  EXPECT_EQ(table.size(), want.size());
  std::map<std::uint64_t, std::int64_t> got;
  table.for_each([&](std::uint64_t k, std::int64_t v) { EXPECT_TRUE(got.emplace(k, v).second) << "key twice: " << k; });
  EXPECT_EQ(got, want);
}

TEST(FlatTable, IterationDependsOnlyOnTheKeys) {
  auto order = [](std::uint32_t first) {
    FlatTable<std::uint32_t, int> t;
    for (std::uint32_t k = first; k < first + 5000; ++k) t[k] = 1;
    for (std::uint32_t k = first + 4999; k + 1 > first; --k) t[k] += 1;  // same keys again
    std::vector<std::uint32_t> keys;
    t.for_each([&](std::uint32_t k, int) { keys.push_back(k); });
    return keys;
  };
  EXPECT_EQ(order(10), order(10));
}

TEST(FlatTable, ReservingKeepsEveryKeyAndValue) {
  FlatTable<std::uint64_t, std::int64_t> table;
  std::map<std::uint64_t, std::int64_t> want;
  std::mt19937_64 rng(11);
  auto put = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const std::uint64_t key = rng() % 3 == 0 ? 0 : rng() % 20'000;
      table[key] += i;
      want[key] += i;
    }
  };
  table.reserve(50);  // on an empty table
  put(3000);
  table.reserve(100'000);  // rehashes the keys it holds
  table.reserve(10);       // never shrinks
  put(30'000);
  EXPECT_EQ(table.size(), want.size());
  std::map<std::uint64_t, std::int64_t> got;
  table.for_each([&](std::uint64_t k, std::int64_t v) { EXPECT_TRUE(got.emplace(k, v).second) << "key twice: " << k; });
  EXPECT_EQ(got, want);
}

TEST(CowShards, ReservedShardsHoldTheSameSums) {
  CowShards<std::uint32_t, std::int64_t> plain, reserved;
  reserved[3] = 1;  // one shard exists already: reserve leaves it alone
  plain[3] = 1;
  reserved.reserve(40'000);
  for (std::uint32_t k = 0; k < 20'000; ++k) {
    plain[k * 7919u] += k;
    reserved[k * 7919u] += k;
  }
  std::map<std::uint32_t, std::int64_t> a, b;
  plain.for_each([&](std::uint32_t k, std::int64_t v) { a.emplace(k, v); });
  reserved.for_each([&](std::uint32_t k, std::int64_t v) { b.emplace(k, v); });
  EXPECT_EQ(a.size(), 20'001u);
  EXPECT_EQ(a, b);
}

TEST(CowShards, ACopyKeepsItsValuesWhileTheOriginalChanges) {
  CowShards<std::uint32_t, std::int64_t> a;
  for (std::uint32_t k = 0; k < 1000; ++k) a[k] = k;
  const CowShards<std::uint32_t, std::int64_t> frozen = a;
  for (std::uint32_t k = 0; k < 1000; k += 3) a[k] = -1;
  a[5000] = 7;
  std::int64_t sum = 0;
  std::size_t n = 0;
  frozen.for_each([&](std::uint32_t k, std::int64_t v) {
    EXPECT_EQ(v, static_cast<std::int64_t>(k));
    sum += v;
    ++n;
  });
  EXPECT_EQ(n, 1000u);
  EXPECT_EQ(sum, 999 * 1000 / 2);
  EXPECT_EQ(a.size(), 1001u);
}

// Shards created after a copy (by a first write or by reserve) belong to this map alone: writing
// to them copies nothing.
TEST(CowShards, ShardsMadeAfterACopyAreNeverCopied) {
  CowShards<std::uint32_t, std::int64_t> a;
  a[0] = 1;  // shard 0 exists, and a copy shares it
  const CowShards<std::uint32_t, std::int64_t> frozen = a;
  CowStats cow;
  a.at(1, cow) = 2;  // shard 1: created by this write
  a.reserve(1000);   // shards 2..15: created here
  for (std::uint32_t k = 1; k < 16; ++k) a.at(k, cow) += 1;
  EXPECT_EQ(cow.pane_copies, 0u);
  a.at(16, cow) = 5;  // shard 0, still shared: copied once
  a.at(32, cow) = 6;
  EXPECT_EQ(cow.pane_copies, 1u);
  std::size_t n = 0;
  frozen.for_each([&](std::uint32_t, std::int64_t) { ++n; });
  EXPECT_EQ(n, 1u);
}

// A pane's product sums pack 32 bits of items: at 2^32 - 1 the slot refuses and changes nothing.
TEST(PackedProductAgg, RefusesWhatWouldNotFitAndChangesNothing) {
  PackedProductAgg p;
  constexpr std::int64_t kEdge = PackedProductAgg::kSpilled - 1;  // the most items a slot holds
  ASSERT_TRUE(p.try_add(-5, INT32_MAX));
  ASSERT_TRUE(p.try_add(0, static_cast<std::int32_t>(kEdge - INT32_MAX - 3)));
  ASSERT_TRUE(p.try_add(INT64_MIN / 2, 3));
  EXPECT_EQ(p.get().items, kEdge);
  EXPECT_EQ(p.get().revenue, INT64_MIN / 2 - 5);
  EXPECT_FALSE(p.try_add(7, 1));
  EXPECT_FALSE(p.try_add(7, -1));
  EXPECT_FALSE(p.spilled());
  EXPECT_EQ(p.get().items, kEdge);
  EXPECT_EQ(p.get().revenue, INT64_MIN / 2 - 5);
  EXPECT_TRUE(PackedProductAgg::fits({INT64_MAX, kEdge}));
  EXPECT_FALSE(PackedProductAgg::fits({0, kEdge + 1}));
  EXPECT_FALSE(PackedProductAgg::fits({0, -1}));
  const PackedProductAgg q = PackedProductAgg::packed({INT64_MAX, kEdge});
  EXPECT_EQ(q.get().revenue, INT64_MAX);
  EXPECT_EQ(q.get().items, kEdge);
  PackedProductAgg m;
  m.mark_spilled();
  EXPECT_TRUE(m.spilled());
  // Revenue past 64 bits is refused too, and nothing changes: the wide sums take it.
  PackedProductAgg r = PackedProductAgg::packed({INT64_MAX - 5, 1});
  EXPECT_FALSE(r.try_add(6, 1));
  EXPECT_EQ(r.get().revenue, INT64_MAX - 5);
  EXPECT_EQ(r.get().items, 1);
  EXPECT_TRUE(r.try_add(5, 1));
  EXPECT_EQ(r.get().revenue, INT64_MAX);
  EXPECT_FALSE(PackedProductAgg::fits({CentsSum{INT64_MAX} + 1, 1}));
  EXPECT_FALSE(PackedProductAgg::fits({CentsSum{INT64_MIN} - 1, 1}));
}

// Whatever is packed and whatever spilled, the table reads as exact wide sums: adds across the
// edge, puts that spill and un-spill, and a copy (a checkpoint's) that keeps its values while the
// original moves on.
TEST(SpillShards, ReadsAsExactWideSumsAcrossTheSpillAndACopy) {
  SpillShards<std::uint32_t, PackedProductAgg> table;
  std::map<std::uint32_t, ProductAgg> want;
  CowStats cow;
  std::mt19937_64 rng(11);
  auto add = [&](std::uint32_t k, Cents r, std::int32_t q) {
    want[k].add(r, q);
    const ProductAgg got = table.add(k, cow, r, q);
    EXPECT_EQ(got.items, want[k].items);
    EXPECT_EQ(got.revenue, want[k].revenue);
  };
  auto contents = [](const SpillShards<std::uint32_t, PackedProductAgg>& t) {
    std::map<std::uint32_t, std::pair<Cents, std::int64_t>> m;
    t.for_each([&](std::uint32_t k, const ProductAgg& a) { EXPECT_TRUE(m.emplace(k, std::pair{a.revenue, a.items}).second); });
    return m;
  };
  auto as_pairs = [](const std::map<std::uint32_t, ProductAgg>& w) {
    std::map<std::uint32_t, std::pair<Cents, std::int64_t>> m;
    for (const auto& [k, a] : w) m.emplace(k, std::pair{a.revenue, a.items});
    return m;
  };
  for (int i = 0; i < 20'000; ++i) add(static_cast<std::uint32_t>(rng() % 500), static_cast<Cents>(rng() % 100'000), 1 + static_cast<std::int32_t>(rng() % 10'000));
  // Products 0 and 7 cross 2^32 items, one record at a time; 7 is then frozen in a copy.
  for (int i = 0; i < 2; ++i)
    while (want[0].items < std::int64_t{1} << 33) add(0, 1, 1 << 30);
  while (want[7].items < (std::int64_t{1} << 32) + 5) add(7, 3, 1 << 29);
  EXPECT_EQ(contents(table), as_pairs(want));
  const auto frozen = table;
  const auto frozen_want = want;
  add(7, 1, 1);
  table.put(9, {5, std::int64_t{1} << 40});  // spills on restore
  want[9] = {5, std::int64_t{1} << 40};
  table.put(0, {2, 3});  // back into its slot
  want[0] = {2, 3};
  for (int i = 0; i < 5'000; ++i) add(static_cast<std::uint32_t>(rng() % 700), 1, 1);
  EXPECT_EQ(contents(table), as_pairs(want));
  EXPECT_EQ(contents(frozen), as_pairs(frozen_want));
  EXPECT_EQ(table.size(), want.size());
}

TEST(Interner, ShortAndLongNamesGetStableDenseIds) {
  Interner in;
  std::map<std::string, std::uint32_t> want;
  for (int i = 0; i < 30'000; ++i) {
    // Up to 19 bytes a name sits inline in its slot; longer ones are compared where they are kept.
    const std::string name = i % 2 ? "p" + std::to_string(i % 7000) : std::string(32, 'x') + std::to_string(i % 5000);
    const std::uint32_t id = in.intern(name);
    auto [it, inserted] = want.emplace(name, static_cast<std::uint32_t>(want.size()));
    EXPECT_EQ(id, it->second) << name;
    EXPECT_EQ(in.name(id), name);
  }
  EXPECT_EQ(in.size(), want.size());
  EXPECT_EQ(in.find("p123"), want.at("p123"));
  EXPECT_EQ(in.find(std::string(32, 'x') + "78"), want.at(std::string(32, 'x') + "78"));
  EXPECT_FALSE(in.find("p7000").has_value());
  EXPECT_FALSE(in.find("").has_value());
  // The empty name and a 19- and a 20-byte name, at the inline boundary.
  const std::uint32_t empty = in.intern("");
  const std::uint32_t at19 = in.intern(std::string(19, 'a'));
  const std::uint32_t at20 = in.intern(std::string(20, 'a'));
  EXPECT_NE(at19, at20);
  EXPECT_EQ(in.intern(""), empty);
  EXPECT_EQ(in.intern(std::string(19, 'a')), at19);
  EXPECT_EQ(in.intern(std::string(20, 'a')), at20);
}

TEST(DedupSet, ManyKeysAcrossGroupsAndGrowth) {
  // Enough keys to fill groups, overflow them into the next and grow the tables several times;
  // every key is new once and a duplicate after, long ids included.
  DedupSet d;
  auto id = [](int i) { return (i % 5 ? "o" : "a-much-longer-order-identifier-") + std::to_string(i); };
  for (int i = 0; i < 300'000; ++i) {
    const std::string k = id(i);
    ASSERT_FALSE(d.seen_or_insert(dedup_key_hash(k, 1), k, 1, i, kMinTime)) << k;
  }
  for (int i = 0; i < 300'000; i += 7) {
    const std::string k = id(i);
    EXPECT_TRUE(d.seen_or_insert(dedup_key_hash(k, 1), k, 1, i, kMinTime)) << k;
    EXPECT_FALSE(d.seen_or_insert(dedup_key_hash(k, 2), k, 2, i, kMinTime)) << k;  // another line
  }
  EXPECT_EQ(d.size(), 300'000u + (300'000u + 6) / 7);
}


// Every length up to 40 and every position of a difference, with strings placed at the very end
// of their buffers: the fast path must not read past them (under `make debug`, AddressSanitizer
// reports any read beyond a vector of exactly n bytes).
TEST(SameBytes, AgreesWithMemcmpAtEveryLengthAndPosition) {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::vector<char> a(n), b(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = b[i] = static_cast<char>('a' + i % 26);
    EXPECT_TRUE(same_bytes(a.data(), b.data(), n)) << n;
    EXPECT_TRUE(same_bytes(std::string_view(a.data(), n), std::string_view(b.data(), n)));
    for (std::size_t i = 0; i < n; ++i) {
      b[i] ^= 0x20;
      EXPECT_FALSE(same_bytes(a.data(), b.data(), n)) << n << " " << i;
      b[i] ^= 0x20;
    }
  }
  EXPECT_FALSE(same_bytes(std::string_view("abc"), std::string_view("abcd")));
}

// A table grown by megabytes at once takes its chunks from one huge-page block; a freeze still
// shares them, and writing afterwards copies only the written chunk.
TEST(CowChunks, BlockChunksFreezeAndCopyOnWrite) {
  CowChunks<std::uint16_t, 15> t(std::size_t{1} << 22, 7);  // 8 MiB: four 2 MiB blocks
  // The chunks were cut from one block: consecutive chunks are adjacent in memory.
  EXPECT_EQ(&t[std::size_t{1} << 15], &t[(std::size_t{1} << 15) - 1] + 1);
  for (std::size_t i = 0; i < t.size(); i += 4099) t.mut(i) = static_cast<std::uint16_t>(i);
  auto frozen = t.freeze();
  t.mut(4099) = 1;
  EXPECT_EQ(t.copies(), 1u);
  EXPECT_EQ(frozen[4099], 4099);
  EXPECT_EQ(t[4099], 1);
  EXPECT_EQ(frozen[1], 7);
  EXPECT_EQ(t[(std::size_t{1} << 22) - 1], 7);
  t.resize((std::size_t{1} << 22) + 5, 9);  // a small growth: an ordinary chunk
  EXPECT_EQ(t[(std::size_t{1} << 22) + 4], 9);
  frozen = {};
  t.fill(3);
  EXPECT_EQ(t[12345], 3);
}

}  // namespace
}  // namespace orderpulse
