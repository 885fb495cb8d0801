// The local limiter and the Redis limiter run the same sequence of
// operations and must give the same verdicts.
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/libs/ratelimit/limiter_test_util.h"

namespace sluice::ratelimit::testing {
namespace {

// One step: a Reserve, or (settle >= 0) a Settle of step `settle`'s
// reservation with `ask` as the actual usage. `denial` is the expected
// "subject/limit" of a denied Reserve.
struct Step {
  std::vector<Subject> subjects;
  Ask ask;
  int settle = -1;
  std::string denial;
};

struct Outcome {
  absl::Status settled;
  Verdict verdict;
};

std::vector<Outcome> RunSteps(Limiter& limiter,
                              const std::vector<Step>& steps) {
  std::vector<Outcome> out;
  for (const Step& step : steps) {
    Outcome o;
    if (step.settle >= 0) {
      o.settled =
          SettleSync(limiter, out[step.settle].verdict.reservation, step.ask);
    } else {
      auto v = ReserveSync(limiter, step.subjects, step.ask);
      EXPECT_TRUE(v.ok()) << v.status();
      if (v.ok()) o.verdict = *v;
    }
    out.push_back(o);
  }
  return out;
}

TEST_F(RedisLimiterTest, LocalAndRedisAgree) {
  const Subject tenant{"tenant:acme",
                       {.rpm = 6, .tpm = 5000, .budget_micro_usd = 50'000}};
  const Subject a{"key:a", {.rpm = 4, .tpm = 3000, .budget_micro_usd = 30'000}};
  const Subject b{"key:b", {.tpm = 4000}};
  const std::vector<Subject> ka = {a, tenant}, kb = {b, tenant};
  const std::vector<Step> steps = {
      {ka, {1, 1000, 10'000}},
      {ka, {1, 1500, 10'000}},
      {ka, {1, 1000, 5'000}, -1, "key:a/tpm"},
      {{}, {1, 200, 2'000}, 1},  // refunds 1300 tokens, 8000 micro-USD
      {ka, {1, 1000, 5'000}},
      {kb, {1, 2900, 10'000}, -1, "tenant:acme/tpm"},
      {kb, {1, 1000, 20'000}},
      {kb, {1, 100, 15'000}, -1, "tenant:acme/budget"},
      {ka, {1, 10, 14'000}, -1, "key:a/budget"},  // the first subject's
      {{}, {1, 1000, 1'000}, 6},
      {kb, {1, 100, 10'000}},
      {ka, {1, 10, 1}},
      // Both over rpm; the key's wait is the longer one.
      {ka, {1, 10, 1}, -1, "key:a/rpm"},
      {kb, {1, 10, 1}, -1, "tenant:acme/rpm"},
      {kb, {1, 9000, 0}, -1, "key:b/tpm"},  // larger than the limit
      {{}, {}, 0},
      {{}, {}, 0},  // settled twice
  };

  auto client = ConnectPatient();
  ASSERT_NE(client, nullptr);
  const LimiterOptions options{.window = absl::Hours(1)};
  LimiterPtr remote = NewRedisLimiter(client.get(), options);
  LimiterPtr local = NewLocalLimiter(options);
  const std::vector<Outcome> want = RunSteps(*remote, steps);
  const std::vector<Outcome> got = RunSteps(*local, steps);

  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "step " << i);
    const Verdict &r = want[i].verdict, &l = got[i].verdict;
    EXPECT_EQ(want[i].settled.code(), got[i].settled.code());
    if (steps[i].settle < 0) {
      EXPECT_EQ(r.admitted, steps[i].denial.empty());
      if (!r.admitted) {
        EXPECT_EQ(absl::StrCat(r.denied_by, "/", r.denied_limit),
                  steps[i].denial);
      }
    }
    EXPECT_EQ(r.admitted, l.admitted);
    EXPECT_EQ(r.denied_by, l.denied_by);
    EXPECT_EQ(r.denied_limit, l.denied_limit);
    EXPECT_EQ(r.reason, l.reason);
    EXPECT_EQ(r.limit_requests, l.limit_requests);
    EXPECT_EQ(r.remaining_requests, l.remaining_requests);
    EXPECT_EQ(r.limit_tokens, l.limit_tokens);
    EXPECT_EQ(r.remaining_tokens, l.remaining_tokens);
    // Times differ by how long the steps took.
    if (r.retry_after == absl::InfiniteDuration()) {
      EXPECT_EQ(l.retry_after, absl::InfiniteDuration());
    } else {
      EXPECT_LE(absl::AbsDuration(r.retry_after - l.retry_after),
                absl::Seconds(2));
    }
    EXPECT_LE(absl::AbsDuration(r.reset_tokens - l.reset_tokens),
              absl::Seconds(2));
  }
  EXPECT_TRUE(want[15].settled.ok());
  EXPECT_EQ(want[16].settled.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(want[14].verdict.retry_after, absl::InfiniteDuration());
  EXPECT_EQ(want[7].verdict.reason, kInsufficientQuota);
}

}  // namespace
}  // namespace sluice::ratelimit::testing
