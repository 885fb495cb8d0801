// ApiKeyRing: loading keys from the environment, round-robin, rests after
// 429s (with and without Retry-After), and picks when every key rests.
#include "services/adapters/api_key_ring.h"

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::adapters {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::vector<int> Picks(ApiKeyRing& ring, int n, absl::Time now) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(ring.Pick(now)->index);
  return out;
}

TEST(ApiKeyRingTest, LoadsSetDistinctKeysInConfigOrder) {
  setenv("SLUICE_RING_1", "key-one", 1);
  setenv("SLUICE_RING_2", "key-two", 1);
  setenv("SLUICE_RING_EMPTY", "", 1);
  unsetenv("SLUICE_RING_UNSET");
  sluice::v1::ProviderConfig config;
  config.set_api_key_env("SLUICE_RING_2");
  for (const char* name : {"SLUICE_RING_UNSET", "SLUICE_RING_1",
                           "SLUICE_RING_EMPTY", "SLUICE_RING_2"}) {
    config.add_api_key_envs(name);
  }
  ApiKeyRingPtr ring = ApiKeyRing::FromEnv(config);
  ASSERT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->Pick(kNow)->value, "key-two");
  EXPECT_EQ(ring->Pick(kNow)->value, "key-one");
}

TEST(ApiKeyRingTest, NoKeysPicksNothing) {
  ApiKeyRing ring({});
  EXPECT_FALSE(ring.Pick(kNow).has_value());
  ring.Rest(0, kNow + absl::Seconds(1));  // ignored, no crash
}

TEST(ApiKeyRingTest, RoundRobinSkipsRestingKeysUntilTheirRestEnds) {
  ApiKeyRing ring({"a", "b", "c"});
  EXPECT_EQ(Picks(ring, 4, kNow), (std::vector<int>{0, 1, 2, 0}));
  ring.Rest(1, kNow + absl::Seconds(5));
  EXPECT_EQ(Picks(ring, 4, kNow), (std::vector<int>{2, 0, 2, 0}));
  // A later, shorter rest does not shorten it.
  ring.Rest(1, kNow + absl::Seconds(1));
  EXPECT_EQ(Picks(ring, 2, kNow + absl::Seconds(2)), (std::vector<int>{2, 0}));
  EXPECT_EQ(Picks(ring, 3, kNow + absl::Seconds(5)),
            (std::vector<int>{1, 2, 0}));
}

TEST(ApiKeyRingTest, WhenAllRestThePickIsTheOneFreeSoonest) {
  ApiKeyRing ring({"a", "b"});
  ring.Rest(0, kNow + absl::Seconds(9));
  ring.Rest(1, kNow + absl::Seconds(3));
  EXPECT_EQ(Picks(ring, 2, kNow), (std::vector<int>{1, 1}));
}

TEST(ApiKeyRingTest, RateLimitRestUsesRetryAfterOrOneSecond) {
  ApiKeyRing ring({"a", "b"});
  ring.RestAfterRateLimit(0, "4", kNow);
  ring.RestAfterRateLimit(1, "", kNow);
  // Both rest; b's default 1 s ends first.
  EXPECT_EQ(ring.Pick(kNow + absl::Milliseconds(500))->index, 1);
  EXPECT_EQ(Picks(ring, 2, kNow + absl::Seconds(2)), (std::vector<int>{1, 1}));
  EXPECT_EQ(Picks(ring, 2, kNow + absl::Seconds(4)), (std::vector<int>{0, 1}));
}

TEST(ApiKeyRingTest, ConcurrentPicksShareTheRotation) {
  ApiKeyRing ring({"a", "b"});
  std::vector<std::thread> threads;
  std::vector<int> counts(2 * 4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&ring, &counts, t] {
      for (int i = 0; i < 1000; ++i) ++counts[2 * t + ring.Pick(kNow)->index];
    });
  }
  for (auto& thread : threads) thread.join();
  int a = 0, b = 0;
  for (int t = 0; t < 4; ++t) {
    a += counts[2 * t];
    b += counts[2 * t + 1];
  }
  EXPECT_EQ(a, 2000);  // strict alternation overall
  EXPECT_EQ(b, 2000);
}

}  // namespace
}  // namespace sluice::adapters
