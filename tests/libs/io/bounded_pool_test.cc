#include "libs/io/bounded_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sluice::io {
namespace {

TEST(BoundedPoolTest, RunsWorkOnItsOwnThread) {
  BoundedPool pool(1, 4);
  absl::Notification done;
  std::thread::id ran_on;
  ASSERT_TRUE(pool.TrySubmit([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  }));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BoundedPoolTest, RefusesWorkBeyondTheQueueBound) {
  BoundedPool pool(1, 2);
  absl::Notification started;
  absl::Notification release;
  std::atomic<int> ran{0};
  // The one thread is busy; two more wait; the fourth is refused.
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.Notify();
    release.WaitForNotification();
    ++ran;
  }));
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_FALSE(pool.TrySubmit([&] { ran += 100; }));
  release.Notify();
  // Once the queue drains there is room again.
  absl::Notification last;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!pool.TrySubmit([&] { last.Notify(); }) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(last.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(ran.load(), 3);
}

TEST(BoundedPoolTest, ThreadsRunAtTheNicenessAsked) {
  const int before = getpriority(PRIO_PROCESS, 0);
  BoundedPool pool(1, 4, /*nice=*/5);
  absl::Notification done;
  int nice = -100;
  ASSERT_TRUE(pool.TrySubmit([&] {
    nice = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
    done.Notify();
  }));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(nice, 5);
  // Only the pool's threads: this one is as it was.
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), before);
}

TEST(BoundedPoolTest, DestructionRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    BoundedPool pool(1, 16);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace
}  // namespace sluice::io
