// Three ingress replicas, each with its own RedisClient and Limiter, share
// one redis-server: together they admit exactly the limit, not the limit
// times the replicas.
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/libs/ratelimit/limiter_test_util.h"

namespace sluice::ratelimit::testing {
namespace {

TEST_F(RedisLimiterTest, ReplicasTogetherAdmitExactlyTheLimit) {
  // A long window, so that no part of it slides out during the test.
  const LimiterOptions options{.window = absl::Hours(1)};
  std::vector<std::unique_ptr<redis::RedisClient>> clients;
  std::vector<LimiterPtr> replicas;
  for (int r = 0; r < 3; ++r) {
    clients.push_back(ConnectPatient());
    ASSERT_NE(clients.back(), nullptr);
    replicas.push_back(NewRedisLimiter(clients.back().get(), options));
  }

  const std::vector<Subject> key = {{"key:shared", {.rpm = 100}}};
  std::atomic<int> admitted{0}, denied{0}, errors{0};
  std::vector<std::thread> threads;
  for (auto& limiter : replicas) {
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, l = limiter.get()] {
        for (int i = 0; i < 40; ++i) {
          auto v = ReserveSync(*l, key, {});
          if (!v.ok())
            ++errors;
          else if (v->admitted)
            ++admitted;
          else
            ++denied;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(admitted.load(), 100);
  EXPECT_EQ(denied.load(), 3 * 8 * 40 - 100);
}

}  // namespace
}  // namespace sluice::ratelimit::testing
