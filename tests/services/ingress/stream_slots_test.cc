// StreamSlots: a tenant's streams in flight against max_concurrent_streams,
// with slots given back when their request records finish.
#include "services/ingress/stream_slots.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/status/errors.h"
#include "services/ingress/request_record.h"
#include "sluice/v1/config.pb.h"
#include "spdlog/spdlog.h"
#include "tests/services/ingress/collecting_reporter.h"

namespace sluice::ingress {
namespace {

sluice::v1::Config TestConfig(int acme_limit) {
  sluice::v1::Config config;
  sluice::v1::TenantConfig* acme = config.add_tenants();
  acme->set_name("acme");
  acme->mutable_limits()->set_max_concurrent_streams(acme_limit);
  config.add_tenants()->set_name("unlimited");
  return config;
}

class StreamSlotsTest : public ::testing::Test {
 protected:
  std::unique_ptr<RequestRecord> NewRecord() {
    return std::make_unique<RequestRecord>(
        &reporter_, absl::StrCat("req-", ++next_id_), /*stream=*/true);
  }

  CollectingReporter reporter_;
  int next_id_ = 0;
};

TEST_F(StreamSlotsTest, TakesSlotsUpToTheLimitThenRefusesWith429) {
  StreamSlots slots(TestConfig(2));
  auto first = NewRecord();
  auto second = NewRecord();
  auto third = NewRecord();
  EXPECT_TRUE(slots.Take("acme", *first).ok());
  EXPECT_EQ(slots.InUse("acme"), 1);
  EXPECT_TRUE(slots.Take("acme", *second).ok());
  EXPECT_EQ(slots.InUse("acme"), 2);

  absl::Status refused = slots.Take("acme", *third);
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  sluice::v1::Error error = status::ErrorFromStatus(refused);
  EXPECT_EQ(error.http_status(), 429);
  EXPECT_EQ(error.type(), "rate_limit_error");
  std::optional<absl::Duration> retry_after = status::RetryAfterOf(refused);
  ASSERT_TRUE(retry_after.has_value());
  EXPECT_GT(*retry_after, absl::ZeroDuration());
  EXPECT_EQ(slots.InUse("acme"), 2);

  // A refused record holds no slot: finishing it gives nothing back.
  third->Finish(429, "rate_limit_error");
  EXPECT_EQ(slots.InUse("acme"), 2);
}

TEST_F(StreamSlotsTest, FinishingARecordGivesItsSlotBack) {
  StreamSlots slots(TestConfig(1));
  auto first = NewRecord();
  ASSERT_TRUE(slots.Take("acme", *first).ok());
  auto second = NewRecord();
  EXPECT_FALSE(slots.Take("acme", *second).ok());

  first->Finish(200);
  EXPECT_EQ(slots.InUse("acme"), 0);
  EXPECT_TRUE(slots.Take("acme", *second).ok());
  EXPECT_EQ(slots.InUse("acme"), 1);
  // Finishing twice gives back once.
  first->Finish(200);
  EXPECT_EQ(slots.InUse("acme"), 1);
}

TEST_F(StreamSlotsTest, ARecordDestroyedUnfinishedGivesItsSlotBack) {
  StreamSlots slots(TestConfig(1));
  auto abandoned = NewRecord();
  ASSERT_TRUE(slots.Take("acme", *abandoned).ok());
  abandoned.reset();  // the client went away
  EXPECT_EQ(slots.InUse("acme"), 0);
  std::vector<sluice::v1::UsageEvent> events = reporter_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].status(), kClientClosedRequest);

  auto next = NewRecord();
  EXPECT_TRUE(slots.Take("acme", *next).ok());
}

TEST_F(StreamSlotsTest, TenantsWithoutALimitAlwaysPass) {
  StreamSlots slots(TestConfig(1));
  std::vector<std::unique_ptr<RequestRecord>> records;
  for (int i = 0; i < 50; ++i) {
    records.push_back(NewRecord());
    EXPECT_TRUE(slots.Take("unlimited", *records.back()).ok());
    EXPECT_TRUE(slots.Take("not-configured", *records.back()).ok());
  }
  EXPECT_EQ(slots.InUse("unlimited"), 0);
  EXPECT_EQ(slots.InUse("not-configured"), 0);
}

TEST_F(StreamSlotsTest, TenantsAreCountedApart) {
  sluice::v1::Config config = TestConfig(1);
  sluice::v1::TenantConfig* globex = config.add_tenants();
  globex->set_name("globex");
  globex->mutable_limits()->set_max_concurrent_streams(1);
  StreamSlots slots(config);
  auto acme = NewRecord();
  auto globex_record = NewRecord();
  EXPECT_TRUE(slots.Take("acme", *acme).ok());
  EXPECT_TRUE(slots.Take("globex", *globex_record).ok());
  EXPECT_EQ(slots.InUse("acme"), 1);
  EXPECT_EQ(slots.InUse("globex"), 1);
}

// Several threads take and give back slots at once: the count never
// exceeds the limit, every take beyond it is refused, and all slots are
// back at the end.
TEST_F(StreamSlotsTest, ConcurrentTakersNeverExceedTheLimit) {
  constexpr int kLimit = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  // Each finished record writes an access-log line; 16000 of them are noise.
  spdlog::set_level(spdlog::level::warn);
  StreamSlots slots(TestConfig(kLimit));
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        RequestRecord record(&reporter_, absl::StrCat("t", t, "-", i), true);
        absl::Status status = slots.Take("acme", record);
        if (!status.ok()) {
          EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
          ++refused;
          record.Finish(429);
          continue;
        }
        ++admitted;
        int now = ++holding;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        EXPECT_LE(slots.InUse("acme"), kLimit);
        --holding;  // before the slot is given back
        record.Finish(200);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(most.load(), kLimit);
  EXPECT_EQ(admitted + refused, kThreads * kRounds);
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(slots.InUse("acme"), 0);
  EXPECT_EQ(reporter_.events().size(), static_cast<size_t>(kThreads * kRounds));
}

}  // namespace
}  // namespace sluice::ingress
