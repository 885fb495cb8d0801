#include "libs/upstream/retry_after.h"

#include "gtest/gtest.h"

namespace sluice::upstream {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1445412480);  // 07:28:00 GMT

TEST(ParseRetryAfterTest, Seconds) {
  EXPECT_EQ(ParseRetryAfter("2", kNow), absl::Seconds(2));
  EXPECT_EQ(ParseRetryAfter(" 120 ", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("1.5", kNow), absl::Milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter("0", kNow), absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, HttpDate) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", kNow),
            absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kNow),
            absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, DateInThePastIsZero) {
  EXPECT_EQ(ParseRetryAfter("Tue, 20 Oct 2015 07:28:00 GMT", kNow),
            absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, GarbageIsNullopt) {
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("nan", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1e3", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("9999999999", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015", kNow), std::nullopt);
}

TEST(BackoffTest, FullJitterBounds) {
  const absl::Duration base = absl::Milliseconds(100);
  const absl::Duration cap = absl::Seconds(2);
  auto zero = [] { return 0.0; };
  auto top = [] { return 0.999999; };
  auto half = [] { return 0.5; };
  EXPECT_EQ(BackoffWithFullJitter(0, base, cap, zero), absl::ZeroDuration());
  EXPECT_EQ(BackoffWithFullJitter(0, base, cap, half), absl::Milliseconds(50));
  EXPECT_EQ(BackoffWithFullJitter(3, base, cap, half), absl::Milliseconds(400));
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::Duration d = BackoffWithFullJitter(attempt, base, cap, top);
    EXPECT_GE(d, absl::ZeroDuration());
    EXPECT_LE(d, cap);
  }
  // Past the cap the ceiling is the cap.
  EXPECT_EQ(BackoffWithFullJitter(10, base, cap, half), absl::Seconds(1));
  EXPECT_EQ(BackoffWithFullJitter(1000000, base, cap, half), absl::Seconds(1));
  // Out-of-range random values are clamped.
  EXPECT_EQ(BackoffWithFullJitter(1, base, cap, [] { return 7.0; }),
            absl::Milliseconds(200));
}

}  // namespace
}  // namespace sluice::upstream
