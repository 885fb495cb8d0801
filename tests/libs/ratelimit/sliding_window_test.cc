// The two-window arithmetic on hand-computed cases.
#include "libs/ratelimit/sliding_window.h"

#include "gtest/gtest.h"

namespace sluice::ratelimit {
namespace {

TEST(SlidingWindowTest, PreviousWindowWeighsByItsShareStillInside) {
  // A quarter into the window: 3/4 of the previous 100 still count.
  const WindowPosition at{1000, 250};
  EXPECT_TRUE(Fits(100, {25, 100}, 0, at));
  EXPECT_FALSE(Fits(100, {25, 100}, 1, at));
  EXPECT_TRUE(Fits(100, {24, 100}, 1, at));
  EXPECT_EQ(Remaining(100, {20, 100}, at), 5);
  EXPECT_EQ(Remaining(100, {90, 100}, at), 0);
}

TEST(SlidingWindowTest, RetryAfterWithinTheWindow) {
  // 75 of the previous window count at 250 ms; one more fits when the
  // previous share drops to 74, at 260 ms.
  const WindowPosition at{1000, 250};
  EXPECT_EQ(RetryAfterMs(100, {25, 100}, 1, at), 10);
  EXPECT_TRUE(Fits(100, {25, 100}, 1, {1000, 260}));
  EXPECT_FALSE(Fits(100, {25, 100}, 1, {1000, 259}));
}

TEST(SlidingWindowTest, RetryAfterInTheNextWindow) {
  // The current window alone is full: wait for it to end (600 ms) and for
  // its count to decay enough: 10 * (1 - x/1000) + 5 <= 10 → x = 500.
  const WindowPosition at{1000, 400};
  EXPECT_EQ(RetryAfterMs(10, {10, 0}, 5, at), 600 + 500);
  EXPECT_TRUE(Fits(10, {0, 10}, 5, {1000, 500}));
  EXPECT_FALSE(Fits(10, {0, 10}, 5, {1000, 499}));
}

TEST(SlidingWindowTest, AskLargerThanTheLimitNeverFits) {
  EXPECT_EQ(RetryAfterMs(10, {0, 0}, 11, {1000, 0}), -1);
}

TEST(SlidingWindowTest, ResetIsWhenNothingCountsAnyMore) {
  EXPECT_EQ(ResetMs({1, 0}, {1000, 300}), 1700);
  EXPECT_EQ(ResetMs({0, 1}, {1000, 300}), 700);
  EXPECT_EQ(ResetMs({0, 0}, {1000, 300}), 0);
}

}  // namespace
}  // namespace sluice::ratelimit
