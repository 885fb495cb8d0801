// CallTracker: a drain waits for the calls in flight, cancels those still
// running at its deadline, and refuses new ones.
#include "libs/host/call_tracker.h"

#include <thread>

#include "gtest/gtest.h"

namespace sluice::host {
namespace {

CallContextPtr Context() { return CallContext::Create({}); }

TEST(CallTrackerTest, DrainWaitsForCallsThatEndInTime) {
  CallTracker tracker;
  auto ticket = std::make_unique<CallTracker::Ticket>(tracker.Enter(Context()));
  ASSERT_TRUE(*ticket);
  EXPECT_EQ(tracker.in_flight(), 1u);
  std::thread ender([&] {
    absl::SleepFor(absl::Milliseconds(50));
    ticket.reset();
  });
  CallTracker::Drained drained = tracker.Drain(absl::Now() + absl::Seconds(10));
  ender.join();
  EXPECT_EQ(drained.cancelled, 0);
  EXPECT_TRUE(drained.all_ended);
  EXPECT_EQ(tracker.in_flight(), 0u);
  EXPECT_FALSE(tracker.Enter(Context()));  // refused once draining
}

TEST(CallTrackerTest, LateCallsAreCancelledAndAwaited) {
  CallTracker tracker;
  CallContextPtr context = Context();
  auto ticket = std::make_shared<CallTracker::Ticket>(tracker.Enter(context));
  // The call ends when its context is cancelled, as calls do.
  context->OnCancel([ticket]() mutable { *ticket = CallTracker::Ticket(); });
  CallTracker::Drained drained = tracker.Drain(absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(drained.cancelled, 1);
  EXPECT_TRUE(drained.all_ended);
  EXPECT_TRUE(context->cancelled());
}

TEST(CallTrackerTest, ACallThatNeverEndsIsReported) {
  CallTracker tracker;
  CallTracker::Ticket stuck = tracker.Enter(Context());
  CallTracker::Drained drained =
      tracker.Drain(absl::Now(), absl::Milliseconds(20));
  EXPECT_EQ(drained.cancelled, 1);
  EXPECT_FALSE(drained.all_ended);
}

}  // namespace
}  // namespace sluice::host
