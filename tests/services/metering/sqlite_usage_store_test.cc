// The embedded usage store: each request counted exactly once whatever is
// redelivered, totals per tenant and model, errors apart, and the data kept
// in the file for the next process.
#include "services/metering/sqlite_usage_store.h"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sluice::metering {
namespace {

sluice::v1::UsageEvent Event(const std::string& id, const std::string& tenant,
                             int status, int64_t prompt, int64_t completion) {
  sluice::v1::UsageEvent event;
  event.set_request_id(id);
  event.set_tenant(tenant);
  event.set_model("deepseek-chat");
  event.set_status(status);
  event.mutable_usage()->set_prompt_tokens(prompt);
  event.mutable_usage()->set_completion_tokens(completion);
  event.mutable_usage()->set_total_tokens(prompt + completion);
  event.mutable_usage()->set_cached_tokens(prompt / 2);
  return event;
}

class SqliteUsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-metering-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/metering.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, path_;
};

TEST_F(SqliteUsageStoreTest, CountsEachRequestOnceWithItsTotals) {
  absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  // Many in a row: the kept statements are reset between uses.
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<bool> recorded =
        (*store)->Record(Event(absl::StrCat("req-", i), "acme", 200, 10, 5));
    ASSERT_TRUE(recorded.ok()) << recorded.status();
    EXPECT_TRUE(*recorded);
  }
  // Redelivered events change nothing.
  for (int i = 0; i < 500; i += 7) {
    absl::StatusOr<bool> again =
        (*store)->Record(Event(absl::StrCat("req-", i), "acme", 200, 10, 5));
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_FALSE(*again);
  }
  ASSERT_TRUE((*store)->Record(Event("bad-1", "acme", 429, 0, 0)).ok());
  ASSERT_TRUE((*store)->Record(Event("other-1", "demo", 200, 3, 4)).ok());

  absl::StatusOr<sluice::v1::UsageReport> acme = (*store)->Totals("acme");
  ASSERT_TRUE(acme.ok()) << acme.status();
  ASSERT_EQ(acme->totals_size(), 1);
  const sluice::v1::UsageTotal& total = acme->totals(0);
  EXPECT_EQ(total.requests(), 501);
  EXPECT_EQ(total.errors(), 1);
  EXPECT_EQ(total.prompt_tokens(), 5000);
  EXPECT_EQ(total.completion_tokens(), 2500);
  EXPECT_EQ(total.cached_tokens(), 2500);
  EXPECT_EQ(total.total_tokens(), 7500);
  // A tenant's report counts its own events only.
  EXPECT_EQ(acme->events(), 501);

  absl::StatusOr<sluice::v1::UsageReport> all = (*store)->Totals("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->totals_size(), 2);
  EXPECT_EQ(all->events(), 502);
}

TEST_F(SqliteUsageStoreTest, ANewProcessFindsWhatWasStored) {
  {
    absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Record(Event("req-1", "acme", 200, 1, 2)).ok());
  }
  absl::StatusOr<UsageStorePtr> reopened = SqliteUsageStore::Open(path_);
  ASSERT_TRUE(reopened.ok());
  absl::StatusOr<bool> again =
      (*reopened)->Record(Event("req-1", "acme", 200, 1, 2));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  absl::StatusOr<sluice::v1::UsageReport> totals = (*reopened)->Totals("acme");
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->totals_size(), 1);
  EXPECT_EQ(totals->totals(0).requests(), 1);
  EXPECT_EQ(totals->totals(0).total_tokens(), 3);
}

}  // namespace
}  // namespace sluice::metering

namespace sluice::metering {
namespace {

TEST_F(SqliteUsageStoreTest, ABatchIsOneTransactionCountingEachRequestOnce) {
  absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Record(Event("old", "acme", 200, 1, 1)).ok());
  std::vector<sluice::v1::UsageEvent> batch = {
      Event("a", "acme", 200, 10, 5), Event("b", "acme", 500, 0, 0),
      Event("a", "acme", 200, 10, 5),  // the same request twice in a batch
      Event("old", "acme", 200, 1, 1)};  // and one seen before
  absl::StatusOr<int> added = (*store)->RecordAll(batch);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 2);
  absl::StatusOr<sluice::v1::UsageReport> totals = (*store)->Totals("acme");
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->totals_size(), 1);
  EXPECT_EQ(totals->totals(0).requests(), 3);
  EXPECT_EQ(totals->totals(0).errors(), 1);
  EXPECT_EQ(totals->totals(0).prompt_tokens(), 11);
  EXPECT_EQ(*(*store)->RecordAll(batch), 0);  // redelivered: nothing new
}

}  // namespace
}  // namespace sluice::metering

namespace sluice::metering {
namespace {

TEST_F(SqliteUsageStoreTest, OffsetsAreStoredWithTheirEventsAndOnlyMoveOn) {
  {
    absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::optional<int64_t>> none =
        (*store)->NextOffset("sluice.usage", 0);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE((*store)
                    ->RecordAll({Event("a", "acme", 200, 1, 1)},
                                {{"sluice.usage", 0, 10}, {"sluice.usage", 3, 7}})
                    .ok());
    // A late batch from before a rebalance does not move an offset back.
    ASSERT_TRUE((*store)->RecordAll({}, {{"sluice.usage", 0, 4}}).ok());
  }
  absl::StatusOr<UsageStorePtr> reopened = SqliteUsageStore::Open(path_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->NextOffset("sluice.usage", 0), 10);
  EXPECT_EQ(*(*reopened)->NextOffset("sluice.usage", 3), 7);
  EXPECT_FALSE((*reopened)->NextOffset("sluice.usage", 1)->has_value());
  EXPECT_FALSE((*reopened)->NextOffset("other", 0)->has_value());
}

TEST_F(SqliteUsageStoreTest, TotalsCarryWhatWasChargedAndWhatItCost) {
  absl::StatusOr<UsageStorePtr> store = SqliteUsageStore::Open(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<sluice::v1::UsageEvent> events;
  for (int i = 0; i < 3; ++i) {
    sluice::v1::UsageEvent event =
        Event(absl::StrCat("p-", i), "acme", 200, 100, 50);
    event.mutable_decision()->set_price_micro_usd(1000 + i);
    event.mutable_decision()->set_upstream_cost_micro_usd(i == 2 ? 0 : 700);
    events.push_back(event);
  }
  ASSERT_TRUE((*store)->RecordAll(events).ok());
  ASSERT_TRUE((*store)->RecordAll(events).ok());  // redelivered
  absl::StatusOr<sluice::v1::UsageReport> totals = (*store)->Totals("acme");
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals->totals_size(), 1);
  EXPECT_EQ(totals->totals(0).price_micro_usd(), 3003);
  EXPECT_EQ(totals->totals(0).upstream_cost_micro_usd(), 1400);
}

}  // namespace
}  // namespace sluice::metering
