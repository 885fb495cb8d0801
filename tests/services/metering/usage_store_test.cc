// The usage stores (SQLite and PostgreSQL, the same tests): each request
// counted exactly once whatever is redelivered, totals per tenant and
// model, errors apart, offsets stored with their events, reports over the
// rollups, one request's event, and the data kept for the next process.
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include "services/metering/postgres_usage_store.h"
#include "services/metering/span_store.h"
#include "services/metering/sqlite_usage_store.h"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/metering/usage_rollup.h"

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

// Each test runs on a fresh SQLite file and on a fresh schema of the
// PostgreSQL server named by SLUICE_TEST_POSTGRES (./dev test starts one;
// without it the PostgreSQL cases fail). Open() may be called again for a second store over
// the same data (a new process).
class UsageStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      char pattern[] = "/tmp/sluice-metering-test.XXXXXX";
      ASSERT_NE(mkdtemp(pattern), nullptr);
      dir_ = pattern;
      return;
    }
    const char* dsn = std::getenv("SLUICE_TEST_POSTGRES");
    // A missing server is a failure, not a skip: CI must not go green
    // without the PostgreSQL half.
    ASSERT_NE(dsn, nullptr)
        << "SLUICE_TEST_POSTGRES is not set (./dev test starts a server)";
    admin_ = PQconnectdb(dsn);
    ASSERT_EQ(PQstatus(admin_), CONNECTION_OK) << PQerrorMessage(admin_);
    PQsetNoticeProcessor(
        admin_, [](void*, const char*) {}, nullptr);
    schema_ = absl::StrCat("metering_test_", getpid(), "_", ++schemas_);
    Sql(absl::StrCat("DROP SCHEMA IF EXISTS ", schema_, " CASCADE"));
    Sql(absl::StrCat("CREATE SCHEMA ", schema_));
    dsn_ = absl::StrCat(dsn, " options='-c search_path=", schema_, "'");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
    if (admin_ != nullptr) {
      Sql(absl::StrCat("DROP SCHEMA IF EXISTS ", schema_, " CASCADE"));
      PQfinish(admin_);
    }
  }

  absl::StatusOr<UsageStorePtr> Open() {
    if (GetParam() == "sqlite") {
      return SqliteUsageStore::Open(dir_ + "/metering.db");
    }
    return OpenPostgresUsageStore(dsn_);
  }
  absl::StatusOr<SpanStorePtr> OpenSpans() {
    if (GetParam() == "sqlite") return OpenSqliteSpanStore(dir_ + "/metering.db");
    return OpenPostgresSpanStore(dsn_);
  }

  void Sql(const std::string& sql) {
    PGresult* result = PQexec(admin_, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK)
        << sql << ": " << PQerrorMessage(admin_);
    PQclear(result);
  }

  static inline int schemas_ = 0;
  std::string dir_;
  PGconn* admin_ = nullptr;
  std::string schema_;
  std::string dsn_;
};

INSTANTIATE_TEST_SUITE_P(Stores, UsageStoreTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(UsageStoreTest, CountsEachRequestOnceWithItsTotals) {
  absl::StatusOr<UsageStorePtr> store = Open();
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

TEST_P(UsageStoreTest, ANewProcessFindsWhatWasStored) {
  {
    absl::StatusOr<UsageStorePtr> store = Open();
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Record(Event("req-1", "acme", 200, 1, 2)).ok());
  }
  absl::StatusOr<UsageStorePtr> reopened = Open();
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

TEST_P(UsageStoreTest, ABatchIsOneTransactionCountingEachRequestOnce) {
  absl::StatusOr<UsageStorePtr> store = Open();
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

TEST_P(UsageStoreTest, OffsetsAreStoredWithTheirEventsAndOnlyMoveOn) {
  {
    absl::StatusOr<UsageStorePtr> store = Open();
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
  absl::StatusOr<UsageStorePtr> reopened = Open();
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(*(*reopened)->NextOffset("sluice.usage", 0), 10);
  EXPECT_EQ(*(*reopened)->NextOffset("sluice.usage", 3), 7);
  EXPECT_FALSE((*reopened)->NextOffset("sluice.usage", 1)->has_value());
  EXPECT_FALSE((*reopened)->NextOffset("other", 0)->has_value());
}

TEST_P(UsageStoreTest, TotalsCarryWhatWasChargedAndWhatItCost) {
  absl::StatusOr<UsageStorePtr> store = Open();
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

namespace sluice::metering {
namespace {

// 2026-01-01T00:00:00Z, a whole day.
constexpr int64_t kDayStart = 1'767'225'600;

sluice::v1::UsageEvent Timed(const std::string& id, const std::string& tenant,
                             const std::string& model, int64_t seconds,
                             int64_t latency_ms, int status = 200) {
  sluice::v1::UsageEvent event = Event(id, tenant, status, 100, 20);
  event.set_model(model);
  event.set_provider("sim");
  event.set_key_id(tenant + "-key");
  event.set_latency_ms(latency_ms);
  event.mutable_time()->set_seconds(seconds);
  event.mutable_decision()->set_price_micro_usd(50);
  return event;
}

TEST_P(UsageStoreTest, ReportsSumBucketsGroupsAndFilters) {
  absl::StatusOr<UsageStorePtr> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<sluice::v1::UsageEvent> events;
  // acme: 10 requests on model a in hour 0 (one 502), 5 on model b in
  // hour 2; demo: 3 on model a in hour 0.
  for (int i = 0; i < 10; ++i) {
    events.push_back(Timed(absl::StrCat("a", i), "acme", "a", kDayStart + i * 60,
                           100 + i, i == 9 ? 502 : 200));
  }
  for (int i = 0; i < 5; ++i) {
    events.push_back(Timed(absl::StrCat("b", i), "acme", "b",
                           kDayStart + 2 * kHour + i, 1000));
  }
  for (int i = 0; i < 3; ++i) {
    events.push_back(Timed(absl::StrCat("d", i), "demo", "a", kDayStart + i, 30));
  }
  // One fallback and some savings among acme's model-a requests.
  events[0].mutable_decision()->set_fell_back(true);
  events[1].mutable_decision()->set_cache_saved_micro_usd(7);
  events[2].mutable_decision()->set_off_peak_saved_micro_usd(11);
  ASSERT_TRUE((*store)->RecordAll(events).ok());
  ASSERT_TRUE((*store)->RecordAll(events).ok());  // redelivered: no change

  sluice::v1::ReportQuery hourly;
  hourly.set_tenant("acme");
  hourly.set_granularity(sluice::v1::GRANULARITY_HOUR);
  hourly.mutable_start()->set_seconds(kDayStart);
  hourly.mutable_end()->set_seconds(kDayStart + kDay);
  absl::StatusOr<sluice::v1::ReportResponse> report = (*store)->Report(hourly);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 2);
  const sluice::v1::ReportRow& first = report->rows(0);
  EXPECT_EQ(first.bucket_start().seconds(), kDayStart);
  EXPECT_EQ(first.tenant(), "acme");
  EXPECT_EQ(first.model(), "a");
  EXPECT_EQ(first.provider(), "sim");
  EXPECT_TRUE(first.key_id().empty());  // not grouped by key
  EXPECT_EQ(first.requests(), 10);
  EXPECT_EQ(first.server_errors(), 1);
  EXPECT_EQ(first.prompt_tokens(), 1000);
  EXPECT_EQ(first.price_micro_usd(), 500);
  EXPECT_EQ(first.fallbacks(), 1);
  EXPECT_EQ(first.cache_saved_micro_usd(), 7);
  EXPECT_EQ(first.off_peak_saved_micro_usd(), 11);
  // Nine successes at 100..108 ms, in (50, 100] and (100, 250].
  EXPECT_GT(first.latency().p50_ms(), 50);
  EXPECT_LE(first.latency().p99_ms(), 250);
  EXPECT_EQ(report->rows(1).bucket_start().seconds(), kDayStart + 2 * kHour);
  EXPECT_EQ(report->rows(1).requests(), 5);
  EXPECT_GT(report->rows(1).latency().p50_ms(), 500);

  // Everyone, per tenant only, over the whole day: day rows.
  sluice::v1::ReportQuery total;
  total.add_group_by("tenant");
  total.mutable_start()->set_seconds(kDayStart);
  total.mutable_end()->set_seconds(kDayStart + kDay);
  report = (*store)->Report(total);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 2);
  EXPECT_FALSE(report->rows(0).has_bucket_start());
  EXPECT_EQ(report->rows(0).tenant(), "acme");
  EXPECT_EQ(report->rows(0).requests(), 15);
  EXPECT_EQ(report->rows(1).tenant(), "demo");
  EXPECT_EQ(report->rows(1).requests(), 3);

  // A range inside an hour comes from minute rows; filters narrow it.
  sluice::v1::ReportQuery minutes;
  minutes.set_model("a");
  minutes.add_group_by("key");
  minutes.mutable_start()->set_seconds(kDayStart);
  minutes.mutable_end()->set_seconds(kDayStart + 5 * 60);
  report = (*store)->Report(minutes);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 2);
  EXPECT_EQ(report->rows(0).key_id(), "acme-key");
  EXPECT_EQ(report->rows(0).requests(), 5);
  EXPECT_EQ(report->rows(1).key_id(), "demo-key");
  EXPECT_EQ(report->rows(1).requests(), 3);

  sluice::v1::ReportQuery bad;
  bad.add_group_by("colour");
  EXPECT_EQ((*store)->Report(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(UsageStoreTest, FindsOneRequestsEvent) {
  absl::StatusOr<UsageStorePtr> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  sluice::v1::UsageEvent event = Timed("req_1", "acme", "a", kDayStart, 12);
  event.set_client_request_id("mine");
  ASSERT_TRUE((*store)->Record(event).ok());
  absl::StatusOr<sluice::v1::UsageEvent> found = (*store)->FindRequest("req_1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->tenant(), "acme");
  EXPECT_EQ(found->client_request_id(), "mine");
  EXPECT_EQ((*store)->FindRequest("req_2").status().code(),
            absl::StatusCode::kNotFound);
}

// A database made by an earlier release, whose rollup table lacks the
// columns added since, gets them when the store opens it.
TEST_P(UsageStoreTest, RollupColumnsAddedLaterAreAddedToOldTables) {
  std::string columns;
  for (const std::string& column : RollupColumns()) {
    bool later = false;
    for (const char* added : kRollupColumnsAddedLater) later |= column == added;
    if (!later) absl::StrAppend(&columns, ", ", column, " BIGINT NOT NULL DEFAULT 0");
  }
  const std::string keys =
      "granularity BIGINT NOT NULL, bucket BIGINT NOT NULL, tenant TEXT NOT "
      "NULL, key_id TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL";
  const std::string primary =
      ", PRIMARY KEY (granularity, bucket, tenant, key_id, model, provider))";
  if (GetParam() == "sqlite") {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/metering.db").c_str(), &db), SQLITE_OK);
    const std::string create = absl::StrCat("CREATE TABLE usage_rollups (", keys,
                                            columns, primary, " WITHOUT ROWID");
    EXPECT_EQ(sqlite3_exec(db, create.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  } else {
    Sql(absl::StrCat("CREATE TABLE ", schema_, ".sluice_usage_rollups (", keys,
                     columns, primary));
  }
  absl::StatusOr<UsageStorePtr> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  sluice::v1::UsageEvent event = Timed("x", "acme", "a", kDayStart, 10);
  event.mutable_decision()->set_fell_back(true);
  event.mutable_decision()->set_cache_saved_micro_usd(9);
  ASSERT_TRUE((*store)->RecordAll({event}).ok());
  sluice::v1::ReportQuery query;
  query.set_tenant("acme");
  absl::StatusOr<sluice::v1::ReportResponse> report = (*store)->Report(query);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 1);
  EXPECT_EQ(report->rows(0).fallbacks(), 1);
  EXPECT_EQ(report->rows(0).cache_saved_micro_usd(), 9);
}

sluice::v1::Span StoredSpan(const std::string& request_id,
                            const std::string& span_id, int64_t start) {
  sluice::v1::Span span;
  span.set_request_id(request_id);
  span.set_trace_id("0af7651916cd43dd8448eb211c80319c");
  span.set_span_id(span_id);
  span.set_name("span " + span_id);
  span.set_start_unix_nano(start);
  span.set_end_unix_nano(start + 1000);
  auto* attribute = span.add_attributes();
  attribute->set_key("gen_ai.usage.input_tokens");
  attribute->set_int_value(7);
  return span;
}

sluice::v1::SpanBatch Batch(std::vector<sluice::v1::Span> spans) {
  sluice::v1::SpanBatch batch;
  for (auto& span : spans) *batch.add_spans() = std::move(span);
  return batch;
}

TEST_P(UsageStoreTest, SpansAreKeptByRequestInStartOrderAndPrunedByAge) {
  absl::StatusOr<SpanStorePtr> spans = OpenSpans();
  ASSERT_TRUE(spans.ok()) << spans.status();
  const int64_t now = absl::ToUnixNanos(absl::Now());
  const sluice::v1::SpanBatch first =
      Batch({StoredSpan("req_a", "2", now + 20), StoredSpan("req_b", "1", now - 3600'000'000'000),
             StoredSpan("req_a", "1", now + 10)});
  ASSERT_TRUE((*spans)->Record(first).ok());
  // The same batch again (a retried export), and a span of req_a sent
  // again inside another batch: each span is kept once.
  ASSERT_TRUE((*spans)->Record(first).ok());
  ASSERT_TRUE((*spans)
                  ->Record(Batch({StoredSpan("req_a", "3", now + 30),
                                  StoredSpan("req_a", "1", now + 10)}))
                  .ok());

  absl::StatusOr<std::vector<sluice::v1::Span>> found =
      (*spans)->FindByRequest("req_a");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[0].name(), "span 1");
  EXPECT_EQ((*found)[1].name(), "span 2");
  EXPECT_EQ((*found)[2].name(), "span 3");
  EXPECT_EQ((*found)[0].attributes(0).int_value(), 7);
  EXPECT_TRUE((*spans)->FindByRequest("req_none")->empty());

  absl::StatusOr<int64_t> pruned =
      (*spans)->Prune(absl::Now() - absl::Minutes(30));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 1);
  EXPECT_TRUE((*spans)->FindByRequest("req_b")->empty());
  EXPECT_EQ((*spans)->FindByRequest("req_a")->size(), 3u);
}

TEST_P(UsageStoreTest, SpansShareTheFileOrDatabaseWithUsage) {
  absl::StatusOr<UsageStorePtr> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<SpanStorePtr> spans = OpenSpans();
  ASSERT_TRUE(spans.ok()) << spans.status();
  ASSERT_TRUE((*store)->Record(Event("req_a", "demo", 200, 3, 4)).ok());
  ASSERT_TRUE((*spans)->Record(Batch({StoredSpan("req_a", "1", 1)})).ok());
  EXPECT_EQ((*spans)->FindByRequest("req_a")->size(), 1u);
  EXPECT_TRUE((*store)->FindRequest("req_a").ok());
}

// Batches of hundreds (stored many events to a statement) with repeats: a
// request twice in one batch, one from an earlier batch, a whole batch
// redelivered. Each request counts once, in the totals and in the minute,
// hour and day rows.
TEST_P(UsageStoreTest, LargeBatchesWithRepeatsCountEachRequestOnce) {
  absl::StatusOr<UsageStorePtr> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  // Request i: six seconds after request i - 1, one of seven keys, every
  // 25th a 502.
  auto request = [](int i) {
    sluice::v1::UsageEvent event =
        Timed(absl::StrCat("r", i), "acme", "a", kDayStart + i * 6,
              100 + i % 50, i % 25 == 0 ? 502 : 200);
    event.set_key_id(absl::StrCat("key-", i % 7));
    return event;
  };
  std::vector<sluice::v1::UsageEvent> first;
  for (int i = 0; i < 300; ++i) first.push_back(request(i));
  std::vector<sluice::v1::UsageEvent> second;
  for (int i = 300; i < 700; ++i) {
    second.push_back(request(i));
    if (i == 310) second.push_back(request(305));  // twice in this batch
    if (i == 480) second.push_back(request(123));  // in the first batch
  }
  absl::StatusOr<int> added = (*store)->RecordAll(first);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 300);
  added = (*store)->RecordAll(second);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 400);
  added = (*store)->RecordAll(second);  // redelivered
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 0);

  absl::StatusOr<sluice::v1::UsageReport> totals = (*store)->Totals("acme");
  ASSERT_TRUE(totals.ok()) << totals.status();
  EXPECT_EQ(totals->events(), 700);
  ASSERT_EQ(totals->totals_size(), 1);
  EXPECT_EQ(totals->totals(0).requests(), 700);
  EXPECT_EQ(totals->totals(0).errors(), 28);
  EXPECT_EQ(totals->totals(0).prompt_tokens(), 70'000);

  // 70 minutes, in two hours, in one day.
  for (auto [granularity, rows] :
       {std::pair{sluice::v1::GRANULARITY_MINUTE, 70},
        std::pair{sluice::v1::GRANULARITY_HOUR, 2},
        std::pair{sluice::v1::GRANULARITY_DAY, 1}}) {
    sluice::v1::ReportQuery query;
    query.set_granularity(granularity);
    query.mutable_start()->set_seconds(kDayStart);
    query.mutable_end()->set_seconds(kDayStart + kDay);
    absl::StatusOr<sluice::v1::ReportResponse> report = (*store)->Report(query);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->rows_size(), rows) << granularity;
    int64_t requests = 0;
    int64_t server_errors = 0;
    int64_t prompt_tokens = 0;
    for (const sluice::v1::ReportRow& row : report->rows()) {
      requests += row.requests();
      server_errors += row.server_errors();
      prompt_tokens += row.prompt_tokens();
    }
    EXPECT_EQ(requests, 700) << granularity;
    EXPECT_EQ(server_errors, 28) << granularity;
    EXPECT_EQ(prompt_tokens, 70'000) << granularity;
  }
  sluice::v1::ReportQuery per_key;
  per_key.add_group_by("key");
  per_key.mutable_start()->set_seconds(kDayStart);
  per_key.mutable_end()->set_seconds(kDayStart + kDay);
  absl::StatusOr<sluice::v1::ReportResponse> report = (*store)->Report(per_key);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->rows_size(), 7);
  for (const sluice::v1::ReportRow& row : report->rows()) {
    EXPECT_EQ(row.requests(), 100) << row.key_id();
  }
}

}  // namespace
}  // namespace sluice::metering

