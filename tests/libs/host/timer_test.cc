// Timer: fires once, at its time or when cancelled, and lets go of its
// closure once it has run, so that the closure may hold the timer's owner.
#include "libs/host/timer.h"

#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace sluice::host {
namespace {

// What owns a timer and is held by the timer's closure (a call waiting to
// retry, say).
struct Owner {
  Timer timer;
};

// Waits up to a few seconds for the owner to go.
bool Released(const std::weak_ptr<Owner>& owner) {
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!owner.expired() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return owner.expired();
}

TEST(TimerTest, ClosureHoldingTheOwnerIsReleasedOnceItHasFired) {
  auto owner = std::make_shared<Owner>();
  std::weak_ptr<Owner> weak = owner;
  auto fired = std::make_shared<absl::Notification>();
  auto result = std::make_shared<bool>(false);
  owner->timer.Set(absl::Now(), [owner, fired, result](bool ok) {
    *result = ok;
    fired->Notify();
  });
  owner.reset();
  ASSERT_TRUE(fired->WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(*result);
  EXPECT_TRUE(Released(weak)) << "the fired timer still holds its owner";
}

TEST(TimerTest, ClosureHoldingTheOwnerIsReleasedOnceCancelled) {
  auto owner = std::make_shared<Owner>();
  std::weak_ptr<Owner> weak = owner;
  auto fired = std::make_shared<absl::Notification>();
  auto result = std::make_shared<bool>(true);
  owner->timer.Set(absl::Now() + absl::Hours(1),
                   [owner, fired, result](bool ok) {
                     *result = ok;
                     fired->Notify();
                   });
  owner->timer.Cancel();
  owner.reset();
  ASSERT_TRUE(fired->WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(*result);
  EXPECT_TRUE(Released(weak)) << "the cancelled timer still holds its owner";
}

}  // namespace
}  // namespace sluice::host
