// Two cache replicas (each its own L1) over one real redis-server: an
// invalidation through one reaches the other's L1 within about a poll, and
// leaves other tenants' entries alone.
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/redis/redis_client.h"
#include "services/cache/l1_cache.h"
#include "services/cache/tiered_store.h"
#include "tests/libs/redis/redis_server.h"
#include "tests/libs/redis/redis_test_util.h"

namespace sluice::cache {
namespace {

using redis::testing::RedisServer;
using redis::testing::WaitUntil;

// One replica: its L1, its Redis client, its store.
struct Replica {
  explicit Replica(const std::string& redis_address) {
    L1Options options;
    options.max_bytes = 1 << 20;
    l1 = std::make_unique<L1Cache>(options);
    redis::RedisOptions redis_options;
    redis_options.address = redis_address;
    redis_options.command_timeout = absl::Seconds(2);
    auto client = redis::RedisClient::Create(redis_options);
    EXPECT_TRUE(client.ok()) << client.status();
    redis = *std::move(client);
    EXPECT_TRUE(WaitUntil([&] { return redis->connected(); }));
    store = std::make_unique<TieredStore>(l1.get(), redis.get());
  }
  ~Replica() {
    store->StopFollowing();
    redis.reset();
  }

  // The tier that answered ("l1", "l2"), or "" for a miss.
  std::string Get(const std::string& key, const std::string& tenant) {
    absl::Notification done;
    std::string tier;
    store->Get(key, tenant, "m",
               [&](std::optional<sluice::v1::CachedAnswer> answer,
                   absl::string_view from) {
                 tier = answer.has_value() ? std::string(from) : "";
                 done.Notify();
               });
    done.WaitForNotification();
    return tier;
  }

  std::unique_ptr<L1Cache> l1;
  std::unique_ptr<redis::RedisClient> redis;
  std::unique_ptr<TieredStore> store;
};

sluice::v1::CachedAnswer Answer(const std::string& text) {
  sluice::v1::CachedAnswer answer;
  answer.mutable_response()->add_choices()->mutable_message()->set_text(text);
  return answer;
}

TEST(CacheInvalidationTest, ReachesEveryReplicasL1) {
  if (RedisServer::BinaryPath().empty()) GTEST_FAIL() << "no redis-server";
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  Replica a((*server)->address());
  Replica b((*server)->address());
  // Both have read the log once (their first answer clears L1 whole).
  ASSERT_TRUE(WaitUntil([&] {
    return a.store->following_invalidations() &&
           b.store->following_invalidations();
  }));
  ASSERT_TRUE(a.store->Put("k1", "acme", "m", Answer("one"), absl::Hours(1)));
  ASSERT_TRUE(a.store->Put("k2", "globex", "m", Answer("two"), absl::Hours(1)));
  // b reads both from Redis once, then from its own L1.
  ASSERT_TRUE(WaitUntil([&] { return b.Get("k1", "acme") == "l2"; }));
  ASSERT_EQ(b.Get("k2", "globex"), "l2");
  ASSERT_EQ(b.Get("k1", "acme"), "l1");
  ASSERT_EQ(b.Get("k2", "globex"), "l1");

  absl::Notification invalidated;
  a.store->Invalidate("acme", "", [&](int64_t l1, int64_t l2) {
    EXPECT_EQ(l1, 1);
    EXPECT_EQ(l2, 1);
    invalidated.Notify();
  });
  ASSERT_TRUE(invalidated.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // b's L1 forgets acme's entry (it used to serve it until its TTL) ...
  EXPECT_TRUE(
      WaitUntil([&] { return b.Get("k1", "acme").empty(); }, absl::Seconds(5)))
      << "replica b still answers the invalidated entry from its L1";
  // ... and keeps globex's.
  EXPECT_EQ(b.Get("k2", "globex"), "l1");
  EXPECT_EQ(a.Get("k1", "acme"), "");
}

}  // namespace
}  // namespace sluice::cache
