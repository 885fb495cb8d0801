#include "services/cache/l1_cache.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/cache/lru_cache.h"

namespace sluice::cache {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

CachedValuePtr Value(std::string tenant, std::string model, size_t size,
                     absl::Time expires = absl::InfiniteFuture()) {
  auto value = std::make_shared<CachedValue>();
  value->tenant = std::move(tenant);
  value->model = std::move(model);
  value->bytes = std::string(size, 'x');
  value->expires = expires;
  return value;
}

L1Options Options(int64_t max_bytes, int shards = 4) {
  L1Options options;
  options.max_bytes = max_bytes;
  options.max_entry_bytes = 64 << 10;
  options.shards = shards;
  return options;
}

TEST(L1CacheTest, CountsHitsAndMissesPerTenant) {
  L1Cache cache(Options(1 << 20));
  ASSERT_TRUE(cache.Put("a/k1", Value("a", "m", 100), kNow));
  EXPECT_NE(cache.Get("a/k1", "a", kNow), nullptr);
  EXPECT_NE(cache.Get("a/k1", "a", kNow), nullptr);
  EXPECT_EQ(cache.Get("a/k2", "a", kNow), nullptr);
  EXPECT_EQ(cache.Get("b/k1", "b", kNow), nullptr);

  TenantStats a = cache.Stats("a");
  EXPECT_EQ(a.hits, 2);
  EXPECT_EQ(a.misses, 1);
  EXPECT_EQ(a.entries, 1);
  EXPECT_EQ(a.bytes, EntryCharge("a/k1", *Value("a", "m", 100)));
  EXPECT_EQ(cache.Stats("b").misses, 1);
  EXPECT_EQ(cache.Stats("b").hits, 0);
  EXPECT_EQ(cache.Stats("nobody").misses, 0);

  auto all = cache.AllStats();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, "a");
  EXPECT_EQ(all[1].first, "b");
  EXPECT_EQ(all[0].second.hits, 2);
  EXPECT_EQ(cache.bytes(), a.bytes);
}

TEST(L1CacheTest, EntryOfAnotherTenantIsAMiss) {
  L1Cache cache(Options(1 << 20));
  ASSERT_TRUE(cache.Put("shared-key", Value("a", "m", 10), kNow));
  EXPECT_EQ(cache.Get("shared-key", "b", kNow), nullptr);
  EXPECT_EQ(cache.Stats("b").misses, 1);
  // The owner still finds it.
  CachedValuePtr found = cache.Get("shared-key", "a", kNow);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->tenant, "a");
}

TEST(L1CacheTest, ExpiredEntryIsDroppedOnAccess) {
  L1Cache cache(Options(1 << 20));
  ASSERT_TRUE(
      cache.Put("k", Value("a", "m", 10, kNow + absl::Seconds(30)), kNow));
  EXPECT_NE(cache.Get("k", "a", kNow + absl::Seconds(29)), nullptr);
  EXPECT_EQ(cache.Get("k", "a", kNow + absl::Seconds(30)), nullptr);
  EXPECT_EQ(cache.Stats("a").entries, 0);
  EXPECT_EQ(cache.bytes(), 0);
  // Gone, not merely hidden: an earlier clock does not bring it back.
  EXPECT_EQ(cache.Get("k", "a", kNow), nullptr);
  EXPECT_EQ(cache.Stats("a").hits, 1);
  EXPECT_EQ(cache.Stats("a").misses, 2);
}

TEST(L1CacheTest, RefusesAlreadyExpiredAndNullValues) {
  L1Cache cache(Options(1 << 20));
  EXPECT_FALSE(cache.Put("k", Value("a", "m", 10, kNow), kNow));
  EXPECT_FALSE(cache.Put("k", nullptr, kNow));
  EXPECT_EQ(cache.bytes(), 0);
}

TEST(L1CacheTest, RefusesOversizedEntry) {
  L1Cache cache(Options(1 << 20));
  EXPECT_FALSE(cache.Put("big", Value("a", "m", 64 << 10), kNow));
  EXPECT_EQ(cache.Get("big", "a", kNow), nullptr);
  EXPECT_EQ(cache.bytes(), 0);
  // Just under the limit once the key and overhead are charged.
  const size_t fits = (64 << 10) - kEntryOverheadBytes - 3 - 1 - 1;
  EXPECT_TRUE(cache.Put("big", Value("a", "m", fits), kNow));
  EXPECT_EQ(cache.bytes(), 64 << 10);
}

TEST(L1CacheTest, ReplacingAnEntryKeepsAccountsExact) {
  L1Cache cache(Options(1 << 20));
  ASSERT_TRUE(cache.Put("k", Value("a", "m", 100), kNow));
  ASSERT_TRUE(cache.Put("k", Value("b", "m", 300), kNow));
  EXPECT_EQ(cache.Stats("a").entries, 0);
  EXPECT_EQ(cache.Stats("a").bytes, 0);
  EXPECT_EQ(cache.Stats("b").entries, 1);
  EXPECT_EQ(cache.bytes(), EntryCharge("k", *Value("b", "m", 300)));
  EXPECT_EQ(cache.Get("k", "b", kNow)->bytes.size(), 300u);
}

class InvalidateTest : public testing::Test {
 protected:
  InvalidateTest() : cache_(Options(1 << 20)) {
    for (const char* tenant : {"a", "b"}) {
      for (const char* model : {"m1", "m2"}) {
        for (int i = 0; i < 5; ++i) {
          cache_.Put(absl::StrCat(tenant, "/", model, "/", i),
                     Value(tenant, model, 50), kNow);
        }
      }
    }
  }
  int64_t Present(absl::string_view tenant, absl::string_view model) {
    int64_t n = 0;
    for (int i = 0; i < 5; ++i) {
      if (cache_.Get(absl::StrCat(tenant, "/", model, "/", i), tenant, kNow)) {
        ++n;
      }
    }
    return n;
  }
  L1Cache cache_;
};

TEST_F(InvalidateTest, ByTenant) {
  EXPECT_EQ(cache_.Invalidate("a", ""), 10);
  EXPECT_EQ(Present("a", "m1") + Present("a", "m2"), 0);
  EXPECT_EQ(Present("b", "m1") + Present("b", "m2"), 10);
  EXPECT_EQ(cache_.Stats("a").entries, 0);
  EXPECT_EQ(cache_.Stats("a").bytes, 0);
  EXPECT_EQ(cache_.Stats("a").evictions, 0);  // invalidation is not eviction
}

TEST_F(InvalidateTest, ByModel) {
  EXPECT_EQ(cache_.Invalidate("", "m1"), 10);
  EXPECT_EQ(Present("a", "m1") + Present("b", "m1"), 0);
  EXPECT_EQ(Present("a", "m2") + Present("b", "m2"), 10);
}

TEST_F(InvalidateTest, ByTenantAndModel) {
  EXPECT_EQ(cache_.Invalidate("b", "m2"), 5);
  EXPECT_EQ(Present("b", "m2"), 0);
  EXPECT_EQ(Present("a", "m1") + Present("a", "m2") + Present("b", "m1"), 15);
  EXPECT_EQ(cache_.Stats("b").entries, 5);
}

TEST_F(InvalidateTest, Everything) {
  EXPECT_EQ(cache_.Invalidate("", ""), 20);
  EXPECT_EQ(cache_.bytes(), 0);
  EXPECT_EQ(cache_.Invalidate("", ""), 0);
}

TEST(L1CacheTest, EvictionsAreCountedToTheEvictedEntrysTenant) {
  // One shard of 20 KiB. Tenant "old" fills it; tenant "new" then writes a
  // stream of keys, each hit a few times so admission lets them in.
  L1Cache cache(Options(20 << 10, 1));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        cache.Put(absl::StrCat("old/", i), Value("old", "m", 1500), kNow));
  }
  const int64_t old_entries = cache.Stats("old").entries;
  ASSERT_GT(old_entries, 0);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 40; ++i) {
      std::string key = absl::StrCat("new/", i);
      if (cache.Get(key, "new", kNow) == nullptr) {
        cache.Put(key, Value("new", "m", 1500), kNow);
      }
    }
  }
  TenantStats old_stats = cache.Stats("old");
  TenantStats new_stats = cache.Stats("new");
  EXPECT_EQ(old_stats.evictions, old_entries - old_stats.entries);
  EXPECT_LT(old_stats.entries, old_entries);
  EXPECT_GT(new_stats.evictions, 0);
  EXPECT_LE(cache.bytes(), 20 << 10);
  EXPECT_EQ(cache.bytes(), old_stats.bytes + new_stats.bytes);
}

TEST(L1CacheTest, ByteBoundHoldsAfterEveryPut) {
  constexpr int64_t kMax = 512 << 10;
  L1Cache cache(Options(kMax, 8));
  std::mt19937_64 rng(42);  // seeded: the run repeats exactly
  int64_t gets = 0;
  for (int op = 0; op < 100'000; ++op) {
    const std::string key = absl::StrCat("k", absl::Uniform(rng, 0, 5000));
    const std::string tenant = absl::StrCat("t", absl::Uniform(rng, 0, 3));
    if (absl::Bernoulli(rng, 0.5)) {
      ++gets;
      cache.Get(key, tenant, kNow);
    } else {
      const size_t size = absl::Uniform<size_t>(rng, 0, 70 << 10);
      cache.Put(key, Value(tenant, "m", size), kNow);
      ASSERT_LE(cache.bytes(), kMax) << "after op " << op;
    }
  }
  int64_t counted = 0, bytes = 0;
  for (const auto& [tenant, stats] : cache.AllStats()) {
    counted += stats.hits + stats.misses;
    bytes += stats.bytes;
  }
  EXPECT_EQ(counted, gets);
  EXPECT_EQ(bytes, cache.bytes());
  EXPECT_GT(cache.bytes(), kMax / 2);  // the budget is actually used
}

// A hot set requested over and over, then a long one-off scan interleaved
// with it: LRU lets the scan flush the hot set; W-TinyLFU keeps it.
TEST(L1CacheTest, KeepsTheHotSetThroughAScan) {
  L1Options options = Options(200 << 10, 1);
  L1Cache tiny_lfu(options);
  LruCache lru(options);
  std::mt19937_64 rng(7);
  int64_t tiny_lfu_hits = 0, lru_hits = 0, requests = 0;
  auto request = [&](const std::string& key) {
    ++requests;
    if (tiny_lfu.Get(key, "t", kNow) != nullptr) {
      ++tiny_lfu_hits;
    } else {
      tiny_lfu.Put(key, Value("t", "m", 1000), kNow);
    }
    if (lru.Get(key, "t", kNow) != nullptr) {
      ++lru_hits;
    } else {
      lru.Put(key, Value("t", "m", 1000), kNow);
    }
  };
  // 100 hot keys (~115 KB, fits) warmed up.
  for (int i = 0; i < 5000; ++i) {
    request(absl::StrCat("hot/", absl::Uniform(rng, 0, 100)));
  }
  tiny_lfu_hits = lru_hits = requests = 0;
  // Each hot request is followed by three never-seen keys.
  for (int i = 0; i < 20000; ++i) {
    request(absl::StrCat("hot/", absl::Uniform(rng, 0, 100)));
    for (int j = 0; j < 3; ++j) request(absl::StrCat("scan/", i, "/", j));
  }
  const double tiny_lfu_ratio = static_cast<double>(tiny_lfu_hits) / requests;
  const double lru_ratio = static_cast<double>(lru_hits) / requests;
  EXPECT_GT(tiny_lfu_ratio, lru_ratio + 0.1)
      << "W-TinyLFU " << tiny_lfu_ratio << " vs LRU " << lru_ratio;
  // Nearly every hot request (a quarter of all) still hits.
  EXPECT_GT(tiny_lfu_ratio, 0.2);
}

TEST(L1CacheTest, ConcurrentMixedOperations) {
  constexpr int64_t kMax = 1 << 20;
  constexpr int kThreads = 8;
  constexpr int kOps = 20'000;
  L1Cache cache(Options(kMax, 16));
  std::vector<int64_t> gets(kThreads * 4, 0);  // per thread, per tenant
  // Per thread: a Put that left bytes() over budget, or a Get that returned
  // another tenant's entry.
  std::vector<int64_t> violations(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      for (int op = 0; op < kOps; ++op) {
        const int tenant_id = absl::Uniform(rng, 0, 4);
        const std::string tenant = absl::StrCat("t", tenant_id);
        const std::string key =
            absl::StrCat(tenant, "/", absl::Zipf(rng, 3000, 1.1));
        const int kind = absl::Uniform(rng, 0, 100);
        if (kind < 60) {
          ++gets[t * 4 + tenant_id];
          CachedValuePtr value = cache.Get(key, tenant, kNow);
          if (value != nullptr && value->tenant != tenant) ++violations[t];
        } else if (kind < 98) {
          cache.Put(key,
                    Value(tenant, absl::StrCat("m", op % 2),
                          absl::Uniform<size_t>(rng, 100, 8000)),
                    kNow);
          if (cache.bytes() > kMax) ++violations[t];
        } else if (kind < 99) {
          cache.Invalidate(tenant, "m1");
        } else {
          cache.Stats(tenant);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(violations[t], 0);
  EXPECT_LE(cache.bytes(), kMax);
  int64_t bytes = 0;
  for (int tenant_id = 0; tenant_id < 4; ++tenant_id) {
    int64_t expected_gets = 0;
    for (int t = 0; t < kThreads; ++t) expected_gets += gets[t * 4 + tenant_id];
    TenantStats stats = cache.Stats(absl::StrCat("t", tenant_id));
    EXPECT_EQ(stats.hits + stats.misses, expected_gets);
    EXPECT_GT(stats.hits, 0);
    EXPECT_GE(stats.entries, 0);
    bytes += stats.bytes;
  }
  EXPECT_EQ(bytes, cache.bytes());
}

}  // namespace
}  // namespace sluice::cache
