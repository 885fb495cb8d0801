// Rollups: latency buckets and percentiles read from them, how an event's
// status is counted, and the minute, hour and day rows each event adds to.
#include "services/metering/usage_rollup.h"

#include "gtest/gtest.h"

namespace sluice::metering {
namespace {

sluice::v1::UsageEvent Event(int status, int64_t latency_ms,
                             int64_t seconds = 1'790'000'123) {
  sluice::v1::UsageEvent event;
  event.set_request_id("r");
  event.set_tenant("acme");
  event.set_model("m");
  event.set_provider("p");
  event.set_status(status);
  event.set_latency_ms(latency_ms);
  event.mutable_time()->set_seconds(seconds);
  event.mutable_usage()->set_prompt_tokens(10);
  event.mutable_usage()->set_cached_tokens(4);
  event.mutable_usage()->set_completion_tokens(5);
  event.mutable_decision()->set_price_micro_usd(7);
  event.mutable_decision()->set_upstream_cost_micro_usd(6);
  return event;
}

TEST(UsageRollupTest, LatencyBucketsHaveInclusiveUpperBounds) {
  EXPECT_EQ(LatencyBucket(0), 0);
  EXPECT_EQ(LatencyBucket(10), 0);
  EXPECT_EQ(LatencyBucket(11), 1);
  EXPECT_EQ(LatencyBucket(300000), kLatencyBuckets - 2);
  EXPECT_EQ(LatencyBucket(300001), kLatencyBuckets - 1);
}

TEST(UsageRollupTest, QuantilesInterpolateWithinTheirBucket) {
  LatencyCounts counts{};
  EXPECT_EQ(QuantileMs(counts, 0.5), 0);
  // 100 observations in (100, 250]: the median is half way.
  counts[LatencyBucket(200)] = 100;
  EXPECT_EQ(QuantileMs(counts, 0.5), 175);
  EXPECT_EQ(QuantileMs(counts, 1.0), 250);
  // One slow outlier in 100 moves the p99 only as far as its rank says.
  counts[LatencyBucket(200)] = 99;
  counts[LatencyBucket(4000)] = 1;
  EXPECT_EQ(QuantileMs(counts, 0.99), 250);
  EXPECT_GT(QuantileMs(counts, 0.995), 2500);
  // The open last bucket answers its lower bound.
  LatencyCounts slow{};
  slow[kLatencyBuckets - 1] = 3;
  EXPECT_EQ(QuantileMs(slow, 0.5), kLatencyBoundsMs.back());
}

TEST(UsageRollupTest, StatusesAreCountedByKindAndOnlySuccessesHaveLatency) {
  RollupRow row;
  for (int status : {200, 200, 429, 400, 404, 499, 502, 504}) {
    row.Add(Event(status, 120));
  }
  EXPECT_EQ(row.requests, 8);
  EXPECT_EQ(row.errors, 6);
  EXPECT_EQ(row.rate_limited, 1);
  EXPECT_EQ(row.client_errors, 2);
  EXPECT_EQ(row.cancelled, 1);
  EXPECT_EQ(row.server_errors, 2);
  EXPECT_EQ(row.prompt_tokens, 80);
  EXPECT_EQ(row.cached_tokens, 32);
  EXPECT_EQ(row.price_micro_usd, 56);
  EXPECT_EQ(row.upstream_cost_micro_usd, 48);
  int64_t timed = 0;
  for (int64_t count : row.latency) timed += count;
  EXPECT_EQ(timed, 2);
  // Without a first-token time, a unary answer's is its latency.
  EXPECT_EQ(row.ttft[LatencyBucket(120)], 2);
}

TEST(UsageRollupTest, FallbacksAndSavingsAreSummed) {
  RollupRow row;
  sluice::v1::UsageEvent fallback = Event(200, 30);
  fallback.mutable_decision()->set_fell_back(true);
  fallback.mutable_decision()->set_off_peak_saved_micro_usd(70);
  sluice::v1::UsageEvent hit = Event(200, 1);
  hit.mutable_decision()->set_cache("hit");
  hit.mutable_decision()->set_cache_saved_micro_usd(40);
  for (const auto& event : {fallback, hit, Event(200, 30)}) row.Add(event);
  EXPECT_EQ(row.fallbacks, 1);
  EXPECT_EQ(row.cache_hits, 1);
  EXPECT_EQ(row.cache_saved_micro_usd, 40);
  EXPECT_EQ(row.off_peak_saved_micro_usd, 70);
  sluice::v1::ReportRow report;
  row.FillReportRow(report);
  EXPECT_EQ(report.fallbacks(), 1);
  EXPECT_EQ(report.cache_saved_micro_usd(), 40);
  EXPECT_EQ(report.off_peak_saved_micro_usd(), 70);
}

TEST(UsageRollupTest, ValuesRoundTripInColumnOrder) {
  RollupRow row;
  row.Add(Event(200, 30));
  row.Add(Event(500, 30));
  sluice::v1::UsageEvent saving = Event(200, 30);
  saving.mutable_decision()->set_fell_back(true);
  saving.mutable_decision()->set_cache_saved_micro_usd(5);
  saving.mutable_decision()->set_off_peak_saved_micro_usd(6);
  row.Add(saving);
  std::vector<int64_t> values = row.Values();
  ASSERT_EQ(values.size(), RollupColumns().size());
  RollupRow back = RollupRow::FromValues(values.data());
  EXPECT_EQ(back.Values(), values);
  RollupRow merged = back;
  merged.Merge(row);
  EXPECT_EQ(merged.requests, 6);
  EXPECT_EQ(merged.latency[LatencyBucket(30)], 4);
  EXPECT_EQ(merged.fallbacks, 2);
  EXPECT_EQ(merged.cache_saved_micro_usd, 10);
  EXPECT_EQ(merged.off_peak_saved_micro_usd, 12);
}

TEST(UsageRollupTest, EachEventAddsToItsMinuteHourAndDay) {
  RollupBatch batch;
  // 23 s into a minute, 50 s later (the next minute, the same hour), and
  // a day later.
  const int64_t t = 1'790'000'123;
  batch.Add(Event(200, 10, t));
  batch.Add(Event(200, 10, t + 50));
  batch.Add(Event(200, 10, t + kDay));
  Rollups rollups = batch.Rows();
  int minutes = 0, hours = 0, days = 0;
  for (const auto& [key, row] : rollups) {
    EXPECT_EQ(key.bucket % key.granularity, 0);
    EXPECT_EQ(key.tenant, "acme");
    minutes += key.granularity == kMinute;
    hours += key.granularity == kHour;
    days += key.granularity == kDay;
  }
  EXPECT_EQ(minutes, 3);
  EXPECT_EQ(hours, 2);
  EXPECT_EQ(days, 2);
  RollupKey day{kDay, t - t % kDay, "acme", "", "m", "p"};
  ASSERT_TRUE(rollups.contains(day));
  EXPECT_EQ(rollups[day].requests, 2);
}

}  // namespace
}  // namespace sluice::metering
