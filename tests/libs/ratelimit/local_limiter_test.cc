// The in-process limiter on a fake clock: windows, retry-after, refunds,
// budgets, tenants, and concurrent callers.
#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/libs/ratelimit/limiter_test_util.h"

namespace sluice::ratelimit::testing {
namespace {

class LocalLimiterTest : public ::testing::Test {
 protected:
  // Starts at a window boundary, 60 s windows.
  absl::Time now_ = absl::FromUnixSeconds(60 * 29'000'000);
  LimiterPtr limiter_ = NewLocalLimiter({}, [this] { return now_; });

  Verdict Reserve(const std::vector<Subject>& subjects, const Ask& ask) {
    auto v = ReserveSync(*limiter_, subjects, ask);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : Verdict{};
  }
};

TEST_F(LocalLimiterTest, AdmitsUpToRpmThenAgainAfterRetryAfter) {
  const std::vector<Subject> key = {{"key:a", {.rpm = 3}}};
  for (int64_t left : {2, 1, 0}) {
    Verdict v = Reserve(key, {});
    EXPECT_TRUE(v.admitted);
    EXPECT_EQ(v.limit_requests, 3);
    EXPECT_EQ(v.remaining_requests, left);
    EXPECT_EQ(v.reset_requests, absl::Seconds(120));
    EXPECT_FALSE(v.reservation.empty());
  }
  now_ += absl::Seconds(10);
  Verdict denied = Reserve(key, {});
  EXPECT_FALSE(denied.admitted);
  EXPECT_EQ(denied.denied_by, "key:a");
  EXPECT_EQ(denied.denied_limit, "rpm");
  EXPECT_EQ(denied.reason, kRateLimitExceeded);
  // The window ends in 50 s; then 3 * (1 - x/60) + 1 <= 3 at x = 20 s.
  EXPECT_EQ(denied.retry_after, absl::Seconds(70));

  now_ += denied.retry_after - absl::Milliseconds(1);
  EXPECT_FALSE(Reserve(key, {}).admitted);
  now_ += absl::Milliseconds(1);
  EXPECT_TRUE(Reserve(key, {}).admitted);
}

TEST_F(LocalLimiterTest, SettleRefundsUnusedTokens) {
  const std::vector<Subject> key = {{"key:a", {.tpm = 1000}}};
  Verdict first = Reserve(key, {.tokens = 800});
  ASSERT_TRUE(first.admitted);
  EXPECT_EQ(first.remaining_tokens, 200);
  Verdict second = Reserve(key, {.tokens = 500});
  EXPECT_FALSE(second.admitted);
  EXPECT_EQ(second.denied_limit, "tpm");

  ASSERT_TRUE(SettleSync(*limiter_, first.reservation, {.tokens = 200}).ok());
  Verdict again = Reserve(key, {.tokens = 500});
  EXPECT_TRUE(again.admitted);
  EXPECT_EQ(again.remaining_tokens, 300);
}

TEST_F(LocalLimiterTest, SettleChargesTokensBeyondTheEstimate) {
  const std::vector<Subject> key = {{"key:a", {.tpm = 1000}}};
  Verdict first = Reserve(key, {.tokens = 100});
  ASSERT_TRUE(first.admitted);
  ASSERT_TRUE(SettleSync(*limiter_, first.reservation, {.tokens = 950}).ok());
  Verdict v = Reserve(key, {.tokens = 100});
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.remaining_tokens, 50);
}

TEST_F(LocalLimiterTest, SettleTwiceOrUnknownIsNotFound) {
  Verdict v = Reserve({{"key:a", {.rpm = 5}}}, {});
  ASSERT_TRUE(v.admitted);
  EXPECT_TRUE(SettleSync(*limiter_, v.reservation, {}).ok());
  EXPECT_EQ(SettleSync(*limiter_, v.reservation, {}).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SettleSync(*limiter_, "nope", {}).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(LocalLimiterTest, BudgetIsARunningTotalNotAWindow) {
  const std::vector<Subject> tenant = {
      {"tenant:acme", {.budget_micro_usd = 100}}};
  Verdict first = Reserve(tenant, {.micro_usd = 60});
  ASSERT_TRUE(first.admitted);
  now_ += absl::Hours(24);  // no window ever forgets spend
  Verdict denied = Reserve(tenant, {.micro_usd = 50});
  EXPECT_FALSE(denied.admitted);
  EXPECT_EQ(denied.reason, kInsufficientQuota);
  EXPECT_EQ(denied.denied_limit, "budget");
  EXPECT_EQ(denied.retry_after, absl::ZeroDuration());

  // Past the reservation ttl the estimate stays charged.
  EXPECT_EQ(SettleSync(*limiter_, first.reservation, {.micro_usd = 0}).code(),
            absl::StatusCode::kNotFound);

  Verdict second = Reserve(tenant, {.micro_usd = 40});
  ASSERT_TRUE(second.admitted);
  ASSERT_TRUE(
      SettleSync(*limiter_, second.reservation, {.micro_usd = 10}).ok());
  EXPECT_TRUE(Reserve(tenant, {.micro_usd = 30}).admitted);
  EXPECT_FALSE(Reserve(tenant, {.micro_usd = 1}).admitted);
}

TEST_F(LocalLimiterTest, TenantLimitStopsAKeyWithRoom) {
  const Subject tenant{"tenant:acme", {.rpm = 2}};
  const std::vector<Subject> a = {{"key:a", {.rpm = 10}}, tenant};
  const std::vector<Subject> b = {{"key:b", {.rpm = 10}}, tenant};
  EXPECT_TRUE(Reserve(a, {}).admitted);
  Verdict v = Reserve(b, {});
  EXPECT_TRUE(v.admitted);
  // The tenant has the least room, so its numbers go in the headers.
  EXPECT_EQ(v.limit_requests, 2);
  EXPECT_EQ(v.remaining_requests, 0);
  Verdict denied = Reserve(a, {});
  EXPECT_FALSE(denied.admitted);
  EXPECT_EQ(denied.denied_by, "tenant:acme");
  // All or nothing: the denied ask charged neither subject.
  const std::vector<Subject> key_only = {{"key:a", {.rpm = 10}}};
  EXPECT_EQ(Reserve(key_only, {}).remaining_requests, 8);
}

TEST_F(LocalLimiterTest, AskLargerThanTheLimitNeverFits) {
  Verdict v = Reserve({{"key:a", {.tpm = 100}}}, {.tokens = 101});
  EXPECT_FALSE(v.admitted);
  EXPECT_EQ(v.retry_after, absl::InfiniteDuration());
}

TEST_F(LocalLimiterTest, ConcurrentCallersAdmitExactlyTheLimit) {
  const std::vector<Subject> key = {{"key:a", {.rpm = 100}}};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto v = ReserveSync(*limiter_, key, {});
        if (v.ok() && v->admitted) ++admitted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 100);
}

}  // namespace
}  // namespace sluice::ratelimit::testing
