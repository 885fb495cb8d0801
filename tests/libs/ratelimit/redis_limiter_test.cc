// The Redis limiter against a private redis-server: waiting out a denial,
// refunds, a burst against a budget, tenants, expiry, and Redis down.
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/libs/ratelimit/limiter_test_util.h"

namespace sluice::ratelimit::testing {
namespace {

using redis::CommandSync;

class RedisLimiterBehaviourTest : public RedisLimiterTest {
 protected:
  void Start(LimiterOptions options = {}) {
    client_ = ConnectPatient();
    ASSERT_NE(client_, nullptr);
    limiter_ = NewRedisLimiter(client_.get(), options);
  }

  Verdict Reserve(const std::vector<Subject>& subjects, const Ask& ask) {
    auto v = ReserveSync(*limiter_, subjects, ask);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : Verdict{};
  }

  std::unique_ptr<redis::RedisClient> client_;
  LimiterPtr limiter_;
};

TEST_F(RedisLimiterBehaviourTest, AdmitsAgainAfterTheRetryAfter) {
  Start({.window = absl::Seconds(2)});
  // Starts early in a window (the server's clock is this machine's), so
  // that the first three requests all land in the same one.
  ASSERT_TRUE(redis::testing::WaitUntil(
      [] { return absl::ToUnixMillis(absl::Now()) % 2000 < 500; },
      absl::Seconds(3)));
  const std::vector<Subject> key = {{"key:a", {.rpm = 3}}};
  for (int64_t left : {2, 1, 0}) {
    Verdict v = Reserve(key, {});
    ASSERT_TRUE(v.admitted);
    EXPECT_EQ(v.remaining_requests, left);
  }
  Verdict denied = Reserve(key, {});
  ASSERT_FALSE(denied.admitted);
  EXPECT_EQ(denied.denied_by, "key:a");
  EXPECT_EQ(denied.denied_limit, "rpm");
  EXPECT_EQ(denied.reason, kRateLimitExceeded);
  EXPECT_GT(denied.retry_after, absl::ZeroDuration());
  EXPECT_LE(denied.retry_after, absl::Seconds(4));
  EXPECT_GT(denied.reset_requests, absl::ZeroDuration());

  // The retry-after is the server's promise: waiting it out is enough.
  absl::SleepFor(denied.retry_after);
  EXPECT_TRUE(Reserve(key, {}).admitted);
}

TEST_F(RedisLimiterBehaviourTest, SettleRefundsUnusedTokens) {
  Start();
  const std::vector<Subject> key = {{"key:a", {.tpm = 1000}}};
  Verdict first = Reserve(key, {.tokens = 800});
  ASSERT_TRUE(first.admitted);
  EXPECT_EQ(first.limit_tokens, 1000);
  EXPECT_EQ(first.remaining_tokens, 200);
  Verdict second = Reserve(key, {.tokens = 500});
  EXPECT_FALSE(second.admitted);
  EXPECT_EQ(second.denied_limit, "tpm");

  ASSERT_TRUE(SettleSync(*limiter_, first.reservation, {.tokens = 200}).ok());
  Verdict again = Reserve(key, {.tokens = 500});
  EXPECT_TRUE(again.admitted);
  EXPECT_EQ(again.remaining_tokens, 300);
  // Settled once only.
  EXPECT_EQ(SettleSync(*limiter_, first.reservation, {}).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RedisLimiterBehaviourTest, BudgetBurstAdmitsWhatTheBudgetHolds) {
  Start();
  const std::vector<Subject> tenant = {
      {"tenant:acme", {.budget_micro_usd = 1'000'000}}};
  absl::Mutex mu;
  std::vector<Verdict> verdicts;
  int errors = 0;
  for (int i = 0; i < 200; ++i) {  // all in flight at once
    limiter_->Reserve(tenant, {.micro_usd = 10'000},
                      [&](absl::StatusOr<Verdict> v) {
                        absl::MutexLock lock(&mu);
                        if (v.ok())
                          verdicts.push_back(*v);
                        else
                          ++errors;
                      });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return verdicts.size() + errors == 200; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(10)));
  }
  EXPECT_EQ(errors, 0);
  std::vector<std::string> reservations;
  for (const Verdict& v : verdicts) {
    if (v.admitted) {
      reservations.push_back(v.reservation);
    } else {
      EXPECT_EQ(v.reason, kInsufficientQuota);
    }
  }
  EXPECT_EQ(reservations.size(), 100u);

  for (const std::string& r : reservations) {
    ASSERT_TRUE(SettleSync(*limiter_, r, {.micro_usd = 5'000}).ok());
  }
  auto spent = CommandSync(*client_, {"GET", "sluice:rl:tenant:acme:budget"});
  ASSERT_TRUE(spent.ok()) << spent.status();
  EXPECT_EQ(spent->str, "500000");
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Reserve(tenant, {.micro_usd = 10'000}).admitted) << i;
  }
  EXPECT_EQ(Reserve(tenant, {.micro_usd = 10'000}).reason, kInsufficientQuota);
}

TEST_F(RedisLimiterBehaviourTest, TenantLimitStopsAKeyWithRoom) {
  Start();
  const Subject tenant{"tenant:acme", {.rpm = 2}};
  EXPECT_TRUE(Reserve({{"key:a", {.rpm = 10}}, tenant}, {}).admitted);
  EXPECT_TRUE(Reserve({{"key:b", {.rpm = 10}}, tenant}, {}).admitted);
  Verdict denied = Reserve({{"key:a", {.rpm = 10}}, tenant}, {});
  EXPECT_FALSE(denied.admitted);
  EXPECT_EQ(denied.denied_by, "tenant:acme");
  EXPECT_EQ(denied.limit_requests, 2);
  EXPECT_EQ(denied.remaining_requests, 0);
  // All or nothing: the denied ask charged the key nothing.
  EXPECT_EQ(Reserve({{"key:a", {.rpm = 10}}}, {}).remaining_requests, 8);
}

TEST_F(RedisLimiterBehaviourTest, IdleSubjectsExpire) {
  Start({.window = absl::Seconds(60), .reservation_ttl = absl::Minutes(5)});
  Verdict v = Reserve({{"key:a", {.rpm = 10}}}, {});
  ASSERT_TRUE(v.admitted);
  auto keys = CommandSync(*client_, {"KEYS", "sluice:rl:key:a:*"});
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->elements.size(), 1u);
  for (const std::string& key :
       {keys->elements[0].str, "sluice:rl:seq:" + v.reservation}) {
    auto ttl = CommandSync(*client_, {"PTTL", key});
    ASSERT_TRUE(ttl.ok()) << ttl.status();
    EXPECT_GT(ttl->integer, 0) << key;
    EXPECT_LE(ttl->integer, 300'000) << key;
  }
}

// The caller names the reservation: one whose reply never came (Redis slow
// past the command timeout) can still be settled by that name.
TEST_F(RedisLimiterBehaviourTest, AReservationCarriesTheCallersId) {
  Start();
  const std::string id = NewReservationId();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, NewReservationId());
  absl::Notification done;
  absl::StatusOr<Verdict> verdict = absl::UnknownError("no answer");
  limiter_->Reserve(
      {{"tenant:t", {.budget_micro_usd = 1000}}}, {.micro_usd = 900},
      [&](absl::StatusOr<Verdict> v) {
        verdict = std::move(v);
        done.Notify();
      },
      id);
  done.WaitForNotification();
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  ASSERT_TRUE(verdict->admitted);
  EXPECT_EQ(verdict->reservation, id);
  ASSERT_TRUE(SettleSync(*limiter_, id, {.micro_usd = 100}).ok());
  auto spent = CommandSync(*client_, {"GET", "sluice:rl:tenant:t:budget"});
  ASSERT_TRUE(spent.ok()) << spent.status();
  EXPECT_EQ(spent->str, "100");
}

// Metering's figure raises the shared ledger (spend admitted by replicas on
// their own while Redis was away), never lowers it.
TEST_F(RedisLimiterBehaviourTest, RaiseSpentLiftsTheSharedLedgerOnly) {
  Start();
  const std::vector<Subject> tenant = {{"tenant:t", {.budget_micro_usd = 1000}}};
  ASSERT_TRUE(Reserve(tenant, {.micro_usd = 200}).admitted);
  auto ledger = [&] {
    auto spent = CommandSync(*client_, {"GET", "sluice:rl:tenant:t:budget"});
    int64_t value = -1;
    if (spent.ok()) (void)absl::SimpleAtoi(spent->str, &value);
    return value;
  };
  limiter_->RaiseSpent("tenant:t", 950);
  ASSERT_TRUE(redis::testing::WaitUntil([&] { return ledger() == 950; }));
  EXPECT_EQ(Reserve(tenant, {.micro_usd = 100}).reason, kInsufficientQuota);
  limiter_->RaiseSpent("tenant:t", 10);  // lower: ignored
  ASSERT_TRUE(CommandSync(*client_, {"PING"}).ok());  // after it, in order
  EXPECT_EQ(ledger(), 950);
}

// A Redis that lost its ledgers (restarted empty; FLUSHALL here) would let
// every budget be spent again: with require_known_ledgers, budgeted asks
// are refused as "ledgers unknown" until they are restored, and then the
// restored spend holds. Asks of subjects without a budget are not held.
TEST_F(RedisLimiterBehaviourTest, BudgetsWaitForLedgersALostRedisRestores) {
  LimiterOptions options;
  options.require_known_ledgers = true;
  Start(options);
  const std::vector<Subject> budgeted = {
      {"tenant:t", {.budget_micro_usd = 1000}}};
  const std::vector<Subject> rated = {{"tenant:u", {.rpm = 100}}};
  Verdict unknown = Reserve(budgeted, {.micro_usd = 100});
  EXPECT_FALSE(unknown.admitted);
  EXPECT_EQ(unknown.reason, kLedgersUnknown);
  EXPECT_TRUE(Reserve(rated, {}).admitted);
  limiter_->RestoreLedgers({});
  ASSERT_TRUE(Reserve(budgeted, {.micro_usd = 900}).admitted);

  ASSERT_TRUE(CommandSync(*client_, {"FLUSHALL"}).ok());
  EXPECT_EQ(Reserve(budgeted, {.micro_usd = 100}).reason, kLedgersUnknown);
  limiter_->RestoreLedgers({{"tenant:t", 950}});
  Verdict spent = Reserve(budgeted, {.micro_usd = 100});
  EXPECT_FALSE(spent.admitted);
  EXPECT_EQ(spent.reason, kInsufficientQuota);
  EXPECT_TRUE(Reserve(budgeted, {.micro_usd = 50}).admitted);
}

TEST_F(RedisLimiterBehaviourTest, RedisDownFailsFast) {
  client_ = Connect(absl::Milliseconds(50));
  ASSERT_NE(client_, nullptr);
  limiter_ = NewRedisLimiter(client_.get());
  ASSERT_TRUE(Reserve({{"key:a", {.rpm = 10}}}, {}).admitted);
  server_->Stop();

  const absl::Time start = absl::Now();
  auto v = ReserveSync(*limiter_, {{"key:a", {.rpm = 10}}}, {});
  EXPECT_FALSE(v.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_FALSE(SettleSync(*limiter_, "1", {}).ok());
}

}  // namespace
}  // namespace sluice::ratelimit::testing
