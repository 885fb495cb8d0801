// AttemptLoop::UpstreamTime (the time of ended attempts and the running
// one, never the waits between them) and CallerDeadlinePassed against a
// real gRPC call's deadline. Time is passed in where the code takes it.
#include "services/router/attempt_loop.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
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

TEST(CallerDeadlinePassedTest, AContextWithoutACallHasNoDeadline) {
  grpc::ServerContext context;
  EXPECT_FALSE(CallerDeadlinePassed(context, absl::Now()));
  EXPECT_FALSE(
      CallerDeadlinePassed(context, absl::Now() + absl::Hours(24 * 365 * 100)));
}

// A generic service that checks the deadline of the call it gets, then
// ends it.
class DeadlineProbe : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    const absl::Time now = absl::Now();
    passed_now_ = CallerDeadlinePassed(*context, now);
    passed_before_ = CallerDeadlinePassed(*context, now + absl::Minutes(59));
    passed_after_ = CallerDeadlinePassed(*context, now + absl::Minutes(61));
    checked_.Notify();
    return new EndAtOnce();
  }

  absl::Notification checked_;
  bool passed_now_ = true;
  bool passed_before_ = true;
  bool passed_after_ = false;

 private:
  class EndAtOnce : public grpc::ServerGenericBidiReactor {
   public:
    EndAtOnce() { Finish(grpc::Status(grpc::StatusCode::ABORTED, "probed")); }
    void OnDone() override { delete this; }
  };
};

TEST(CallerDeadlinePassedTest, ComparesWithTheCallersDeadline) {
  DeadlineProbe probe;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterCallbackGenericService(&probe);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  grpc::GenericStub stub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::hours(1));
  grpc::Slice payload(std::string("ping"));
  grpc::ByteBuffer request(&payload, 1);  // an empty buffer is no message
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status result;
  stub.UnaryCall(&context, "/sluice.test.Probe/Call", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(probe.checked_.HasBeenNotified()) << result.error_message();
  EXPECT_EQ(result.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_FALSE(probe.passed_now_);
  EXPECT_FALSE(probe.passed_before_);
  EXPECT_TRUE(probe.passed_after_);
  server->Shutdown();
}

}  // namespace
}  // namespace sluice::router
