// AttemptLoop::UpstreamTime (the time of ended attempts and the running
// one, never the waits between them) and CallerDeadlinePassed. Time is
// passed in where the code takes it.
#include "services/router/attempt_loop.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "libs/obs/metrics.h"
#include "libs/status/errors.h"
#include "services/router/candidate_health.h"
#include "services/router/failure_class.h"

namespace sluice::router {
namespace {

class AttemptLoopTest : public ::testing::Test {
 protected:
  std::vector<Candidate> Candidates(int n) {
    std::vector<Candidate> candidates;
    for (int i = 0; i < n; ++i) {
      candidates.push_back({"sim", "model-" + std::string(1, 'a' + i)});
    }
    return candidates;
  }

  obs::MetricsRegistry registry_;
  HealthBoard health_{HealthOptions{}, &registry_};
  const absl::Time t0_ = absl::FromUnixSeconds(1'700'000'000);
};

TEST_F(AttemptLoopTest, NoTimeBeforeTheFirstAttempt) {
  AttemptLoop loop(RetryOptions{}, Candidates(1), &health_);
  EXPECT_EQ(loop.UpstreamTime(t0_), absl::ZeroDuration());
}

TEST_F(AttemptLoopTest, WaitsBetweenAttemptsAreNotUpstreamTime) {
  AttemptLoop loop(RetryOptions{}, Candidates(1), &health_);
  ASSERT_EQ(loop.Next(t0_).action, AttemptLoop::Step::Action::kAttempt);
  EXPECT_EQ(loop.UpstreamTime(t0_ + absl::Milliseconds(700)),
            absl::Milliseconds(700));

  const absl::Time t1 = t0_ + absl::Seconds(2);
  loop.Failed(status::RateLimited("slow down", absl::Seconds(3)), t1);
  AttemptLoop::Step wait = loop.Next(t1);
  ASSERT_EQ(wait.action, AttemptLoop::Step::Action::kWait);
  EXPECT_EQ(wait.wait, absl::Seconds(3));
  // While waiting the first attempt's time stands still.
  EXPECT_EQ(loop.UpstreamTime(t1 + absl::Seconds(1)), absl::Seconds(2));

  const absl::Time t2 = t1 + absl::Seconds(5);
  AttemptLoop::Step again = loop.Next(t2);
  ASSERT_EQ(again.action, AttemptLoop::Step::Action::kAttempt);
  EXPECT_EQ(again.candidate->route(), "sim/model-a");
  const absl::Time t3 = t2 + absl::Milliseconds(1500);
  EXPECT_EQ(loop.UpstreamTime(t3), (t1 - t0_) + (t3 - t2));

  // Once the attempt ends its time is fixed.
  loop.Succeeded(t3 - t2, t3);
  EXPECT_EQ(loop.UpstreamTime(t3 + absl::Hours(1)), absl::Milliseconds(3500));
}

TEST_F(AttemptLoopTest, FallbackAttemptsAddUp) {
  AttemptLoop loop(RetryOptions{}, Candidates(2), &health_);
  ASSERT_EQ(loop.Next(t0_).action, AttemptLoop::Step::Action::kAttempt);
  const absl::Time t1 = t0_ + absl::Milliseconds(400);
  loop.Failed(absl::UnavailableError("connection reset"), t1);
  // Another candidate is ready: no wait; the gap before it is not counted.
  const absl::Time t2 = t1 + absl::Milliseconds(50);
  AttemptLoop::Step next = loop.Next(t2);
  ASSERT_EQ(next.action, AttemptLoop::Step::Action::kAttempt);
  EXPECT_EQ(next.candidate->route(), "sim/model-b");
  const absl::Time t3 = t2 + absl::Milliseconds(600);
  loop.Failed(absl::DeadlineExceededError("upstream timeout"), t3);
  EXPECT_EQ(loop.UpstreamTime(t3 + absl::Seconds(10)),
            absl::Milliseconds(1000));
}

TEST_F(AttemptLoopTest, AbandonedAttemptCountsUpToItsEnd) {
  AttemptLoop loop(RetryOptions{}, Candidates(1), &health_);
  ASSERT_EQ(loop.Next(t0_).action, AttemptLoop::Step::Action::kAttempt);
  loop.Abandoned(t0_ + absl::Milliseconds(250));
  EXPECT_EQ(loop.UpstreamTime(t0_ + absl::Seconds(9)), absl::Milliseconds(250));
}

TEST_F(AttemptLoopTest, RunningAttemptNeverCountsNegative) {
  AttemptLoop loop(RetryOptions{}, Candidates(1), &health_);
  ASSERT_EQ(loop.Next(t0_).action, AttemptLoop::Step::Action::kAttempt);
  EXPECT_EQ(loop.UpstreamTime(t0_ - absl::Seconds(1)), absl::ZeroDuration());
}

TEST(CallerDeadlinePassedTest, ComparesWithTheCallersDeadline) {
  absl::Time now = absl::Now();
  EXPECT_FALSE(CallerDeadlinePassed(absl::InfiniteFuture(), now));
  EXPECT_FALSE(CallerDeadlinePassed(now + absl::Minutes(1), now));
  EXPECT_TRUE(CallerDeadlinePassed(now, now));
  EXPECT_TRUE(CallerDeadlinePassed(now - absl::Milliseconds(1), now));
}

}  // namespace
}  // namespace sluice::router
