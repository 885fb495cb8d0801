#include "services/metering/sqlite_usage_store.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/metering/report_plan.h"
#include "services/metering/usage_rollup.h"

namespace sluice::metering {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
-- Consumed offsets live here: a commit must survive a power loss, or Kafka
-- would not redeliver what a lost commit held.
PRAGMA synchronous = FULL;
-- A checkpoint (the WAL copied into the database, with two more syncs)
-- every 10000 pages (40 MB) instead of every 1000: ingest paid for one
-- every few batches. Commits are as durable either way.
PRAGMA wal_autocheckpoint = 10000;
CREATE TABLE IF NOT EXISTS usage_events (
  request_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  model TEXT NOT NULL,
  status INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  event BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_totals (
  tenant TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, model)
);
CREATE TABLE IF NOT EXISTS consumed_offsets (
  topic TEXT NOT NULL,
  partition_id INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition_id)
);
)sql";

// Columns added since the first schema, for databases created before them
// (ADD COLUMN fails harmlessly where the column exists).
constexpr const char* kAddedColumns[] = {
    "ALTER TABLE usage_totals ADD COLUMN price_micro_usd INTEGER NOT NULL "
    "DEFAULT 0",
    "ALTER TABLE usage_totals ADD COLUMN upstream_cost_micro_usd INTEGER NOT "
    "NULL DEFAULT 0",
};

// Finalizes a statement when it leaves scope.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

// Binds `text` without copying it: it must outlive the statement's step.
void BindStatic(sqlite3_stmt* statement, int index, absl::string_view text) {
  sqlite3_bind_text(statement, index, text.data(),
                    static_cast<int>(text.size()), SQLITE_STATIC);
}

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

// Events inserted, and rollup rows upserted, per statement where a batch
// has that many: starting and finishing a statement per row took about
// half of an event's insert.
constexpr int kEventsPerInsert = 50;
constexpr int kRollupsPerUpsert = 20;

// `rows` parenthesized lists of `columns` placeholders.
std::string Placeholders(int rows, size_t columns) {
  const std::vector<std::string> row(columns, "?");
  const std::vector<std::string> all(
      rows, absl::StrCat("(", absl::StrJoin(row, ", "), ")"));
  return absl::StrJoin(all, ", ");
}

// Inserts `rows` events into the log: one "OR IGNORE" (a recorded request
// id changes nothing); many plainly, so that a statement meeting a recorded
// id fails as a whole and changes nothing (ON CONFLICT ABORT).
std::string EventInsertSql(int rows) {
  return absl::StrCat("INSERT ", rows == 1 ? "OR IGNORE " : "",
                      "INTO usage_events (request_id, tenant, model, status, "
                      "prompt_tokens, completion_tokens, event) VALUES ",
                      Placeholders(rows, 7));
}

// The SQL `build(rows)`, built once.
template <std::string (*build)(int), int rows>
const char* Built() {
  static const std::string* const sql = new std::string(build(rows));
  return sql->c_str();
}

// Adds a batch's sums to one (tenant, model) total (creating it).
const char* TotalsUpsertSql() {
  static const std::string* const sql = [] {
    std::vector<std::string> placeholders(2 + std::size(kTotalColumns), "?");
    std::vector<std::string> updates;
    for (const char* column : kTotalColumns) {
      updates.push_back(
          absl::StrCat(column, " = ", column, " + excluded.", column));
    }
    return new std::string(absl::StrCat(
        "INSERT INTO usage_totals (tenant, model, ",
        absl::StrJoin(kTotalColumns, ", "), ") VALUES (",
        absl::StrJoin(placeholders, ", "),
        ") ON CONFLICT (tenant, model) DO UPDATE SET ",
        absl::StrJoin(updates, ", ")));
  }();
  return sql->c_str();
}

// Offsets only move forward (a batch from before a rebalance may arrive
// after a later one).
constexpr const char* kOffsetSql =
    "INSERT INTO consumed_offsets (topic, partition_id, next_offset) "
    "VALUES (?, ?, ?) ON CONFLICT (topic, partition_id) DO UPDATE SET "
    "next_offset = max(next_offset, excluded.next_offset)";

constexpr const char* kRollupKeyColumns =
    "granularity, bucket, tenant, key_id, model, provider";

std::string RollupSchemaSql() {
  std::string sql =
      "CREATE TABLE IF NOT EXISTS usage_rollups (granularity INTEGER NOT "
      "NULL, bucket INTEGER NOT NULL, tenant TEXT NOT NULL, key_id TEXT NOT "
      "NULL, model TEXT NOT NULL, provider TEXT NOT NULL";
  for (const std::string& column : RollupColumns()) {
    absl::StrAppend(&sql, ", ", column, " INTEGER NOT NULL DEFAULT 0");
  }
  absl::StrAppend(&sql, ", PRIMARY KEY (", kRollupKeyColumns,
                  ")) WITHOUT ROWID");
  return sql;
}

// Adds a batch's sums to `rows` stored rows (creating them).
std::string RollupUpsertSql(int rows) {
  std::vector<std::string> updates;
  for (const std::string& column : RollupColumns()) {
    updates.push_back(
        absl::StrCat(column, " = ", column, " + excluded.", column));
  }
  return absl::StrCat("INSERT INTO usage_rollups (", kRollupKeyColumns, ", ",
                      absl::StrJoin(RollupColumns(), ", "), ") VALUES ",
                      Placeholders(rows, 6 + RollupColumns().size()),
                      " ON CONFLICT (", kRollupKeyColumns, ") DO UPDATE SET ",
                      absl::StrJoin(updates, ", "));
}

}  // namespace

absl::StatusOr<UsageStorePtr> SqliteUsageStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // No connection mutex: every use of the connection holds mu_ already
  // (SQLite's own locking of each call was a visible share of ingest).
  if (sqlite3_open_v2(
          path.c_str(), &db,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
          nullptr) != SQLITE_OK) {
    absl::Status error = SqliteError(db, absl::StrCat("open ", path));
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<SqliteUsageStore> store(new SqliteUsageStore(db));
  {
    absl::MutexLock lock(&store->mu_);
    if (absl::Status s = store->Exec(kSchema); !s.ok()) return s;
    if (absl::Status s = store->Exec(RollupSchemaSql().c_str()); !s.ok()) {
      return s;
    }
    for (const char* added : kAddedColumns) {
      store->Exec(added).IgnoreError();
    }
    for (const char* column : kRollupColumnsAddedLater) {
      store
          ->Exec(absl::StrCat("ALTER TABLE usage_rollups ADD COLUMN ", column,
                              " INTEGER NOT NULL DEFAULT 0")
                     .c_str())
          .IgnoreError();
    }
  }
  return store;
}

SqliteUsageStore::~SqliteUsageStore() {
  absl::MutexLock lock(&mu_);
  for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

sqlite3_stmt* SqliteUsageStore::Prepared(int slot, const char* sql,
                                         absl::Status& error) {
  sqlite3_stmt*& statement = statements_[slot];
  if (statement == nullptr) {
    if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) != SQLITE_OK) {
      error = SqliteError(db_, absl::StrCat("prepare ", sql));
      sqlite3_finalize(statement);
      statement = nullptr;
      return nullptr;
    }
    return statement;
  }
  sqlite3_reset(statement);
  return statement;
}

absl::Status SqliteUsageStore::Run(int slot, const char* sql,
                                   absl::string_view what) {
  absl::Status error;
  sqlite3_stmt* statement = Prepared(slot, sql, error);
  if (statement == nullptr) return error;
  int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  if (rc != SQLITE_DONE) return SqliteError(db_, what);
  return absl::OkStatus();
}

absl::Status SqliteUsageStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status error = absl::InternalError(
        absl::StrCat("sqlite: ", message != nullptr ? message : "error"));
    sqlite3_free(message);
    return error;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SqliteUsageStore::Record(
    const sluice::v1::UsageEvent& event) {
  absl::StatusOr<int> added = RecordAll({event}, {});
  if (!added.ok()) return added.status();
  return *added == 1;
}

absl::StatusOr<int> SqliteUsageStore::RecordAll(
    const std::vector<sluice::v1::UsageEvent>& events,
    const std::vector<ConsumedOffset>& offsets) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Run(kBegin, "BEGIN IMMEDIATE", "begin"); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<const sluice::v1::UsageEvent*>> added =
      InsertEvents(events);
  if (!added.ok()) {
    Run(kRollback, "ROLLBACK", "rollback").IgnoreError();
    return added.status();
  }
  // The batch's new events summed per row first: a batch is mostly a few
  // tenants and models in one minute, so a few upserts cover it.
  BatchTotals totals;
  RollupBatch rollups;
  for (const sluice::v1::UsageEvent* event : *added) {
    totals[{event->tenant(), event->model()}].Add(*event);
    rollups.Add(*event);
  }
  for (const auto& [key, sums] : totals) {
    if (absl::Status s = UpsertTotal(key.first, key.second, sums); !s.ok()) {
      Run(kRollback, "ROLLBACK", "rollback").IgnoreError();
      return s;
    }
  }
  if (absl::Status s = UpsertRollups(rollups.Rows()); !s.ok()) {
    Run(kRollback, "ROLLBACK", "rollback").IgnoreError();
    return s;
  }
  for (const ConsumedOffset& offset : offsets) {
    absl::Status error;
    sqlite3_stmt* statement = Prepared(kOffset, kOffsetSql, error);
    if (statement != nullptr) {
      sqlite3_bind_text(statement, 1, offset.topic.c_str(), -1,
                        SQLITE_TRANSIENT);
      sqlite3_bind_int(statement, 2, offset.partition);
      sqlite3_bind_int64(statement, 3, offset.next);
      int rc = sqlite3_step(statement);
      sqlite3_reset(statement);
      if (rc != SQLITE_DONE) error = SqliteError(db_, "store offset");
    }
    if (!error.ok()) {
      Run(kRollback, "ROLLBACK", "rollback").IgnoreError();
      return error;
    }
  }
  if (absl::Status s = Run(kCommit, "COMMIT", "commit"); !s.ok()) {
    Run(kRollback, "ROLLBACK", "rollback").IgnoreError();
    return s;
  }
  return static_cast<int>(added->size());
}

absl::StatusOr<std::vector<const sluice::v1::UsageEvent*>>
SqliteUsageStore::InsertEvents(
    const std::vector<sluice::v1::UsageEvent>& events) {
  std::vector<const sluice::v1::UsageEvent*> added;
  added.reserve(events.size());
  size_t next = 0;
  // Many at a time while none was recorded before (the usual case); after
  // a statement that met a recorded id (a replay, most likely), one by one.
  while (events.size() - next >= static_cast<size_t>(kEventsPerInsert)) {
    absl::StatusOr<bool> all_new = InsertMany(&events[next]);
    if (!all_new.ok()) return all_new.status();
    if (!*all_new) break;
    for (int i = 0; i < kEventsPerInsert; ++i) added.push_back(&events[next++]);
  }
  for (; next < events.size(); ++next) {
    absl::StatusOr<bool> inserted = InsertEvent(events[next]);
    if (!inserted.ok()) return inserted.status();
    if (*inserted) added.push_back(&events[next]);
  }
  return added;
}

absl::StatusOr<bool> SqliteUsageStore::InsertMany(
    const sluice::v1::UsageEvent* events) {
  absl::Status error;
  sqlite3_stmt* insert =
      Prepared(kInsertMany, Built<EventInsertSql, kEventsPerInsert>(), error);
  if (insert == nullptr) return error;
  blobs_.resize(kEventsPerInsert);
  for (int i = 0; i < kEventsPerInsert; ++i) {
    BindEvent(insert, 1 + 7 * i, events[i], blobs_[i]);
  }
  int rc = sqlite3_step(insert);
  sqlite3_reset(insert);
  if (rc == SQLITE_DONE) return true;
  // A request id recorded before or repeated among these: the statement
  // was undone as a whole, the transaction goes on.
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return false;
  return SqliteError(db_, "insert events");
}

void SqliteUsageStore::BindEvent(sqlite3_stmt* statement, int first,
                                 const sluice::v1::UsageEvent& event,
                                 std::string& blob) {
  // Bound without copies: the event and `blob` outlive the step.
  event.SerializeToString(&blob);
  BindStatic(statement, first, event.request_id());
  BindStatic(statement, first + 1, event.tenant());
  BindStatic(statement, first + 2, event.model());
  sqlite3_bind_int(statement, first + 3, event.status());
  sqlite3_bind_int64(statement, first + 4, event.usage().prompt_tokens());
  sqlite3_bind_int64(statement, first + 5, event.usage().completion_tokens());
  sqlite3_bind_blob(statement, first + 6, blob.data(),
                    static_cast<int>(blob.size()), SQLITE_STATIC);
}

absl::StatusOr<bool> SqliteUsageStore::InsertEvent(
    const sluice::v1::UsageEvent& event) {
  absl::Status error;
  sqlite3_stmt* insert = Prepared(kInsert, Built<EventInsertSql, 1>(), error);
  if (insert == nullptr) return error;
  blobs_.resize(kEventsPerInsert);
  BindEvent(insert, 1, event, blobs_[0]);
  int rc = sqlite3_step(insert);
  sqlite3_reset(insert);
  if (rc != SQLITE_DONE) return SqliteError(db_, "insert event");
  return sqlite3_changes(db_) == 1;  // 0: seen before, counted once
}

absl::Status SqliteUsageStore::UpsertTotal(const std::string& tenant,
                                          const std::string& model,
                                          const TotalSums& sums) {
  absl::Status error;
  sqlite3_stmt* upsert = Prepared(kUpsert, TotalsUpsertSql(), error);
  if (upsert == nullptr) return error;
  BindStatic(upsert, 1, tenant);
  BindStatic(upsert, 2, model);
  int parameter = 3;
  for (int64_t value : sums.values) {
    sqlite3_bind_int64(upsert, parameter++, value);
  }
  int rc = sqlite3_step(upsert);
  sqlite3_reset(upsert);
  if (rc != SQLITE_DONE) return SqliteError(db_, "update totals");
  return absl::OkStatus();
}

absl::StatusOr<sluice::v1::UsageReport> SqliteUsageStore::Totals(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  sluice::v1::UsageReport report;
  Statement query;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT tenant, model, requests, errors, prompt_tokens, "
          "completion_tokens, cached_tokens, reasoning_tokens, total_tokens, "
          "price_micro_usd, upstream_cost_micro_usd "
          "FROM usage_totals WHERE ?1 = '' OR tenant = ?1 "
          "ORDER BY tenant, model",
          -1, &query.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare totals");
  }
  sqlite3_bind_text(query.stmt, 1, tenant.c_str(), -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(query.stmt)) == SQLITE_ROW) {
    sluice::v1::UsageTotal* total = report.add_totals();
    total->set_tenant(
        reinterpret_cast<const char*>(sqlite3_column_text(query.stmt, 0)));
    total->set_model(
        reinterpret_cast<const char*>(sqlite3_column_text(query.stmt, 1)));
    total->set_requests(sqlite3_column_int64(query.stmt, 2));
    total->set_errors(sqlite3_column_int64(query.stmt, 3));
    total->set_prompt_tokens(sqlite3_column_int64(query.stmt, 4));
    total->set_completion_tokens(sqlite3_column_int64(query.stmt, 5));
    total->set_cached_tokens(sqlite3_column_int64(query.stmt, 6));
    total->set_reasoning_tokens(sqlite3_column_int64(query.stmt, 7));
    total->set_total_tokens(sqlite3_column_int64(query.stmt, 8));
    total->set_price_micro_usd(sqlite3_column_int64(query.stmt, 9));
    total->set_upstream_cost_micro_usd(sqlite3_column_int64(query.stmt, 10));
    // Every stored event adds one request to exactly one total.
    report.set_events(report.events() + total->requests());
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read totals");
  return report;
}

absl::Status SqliteUsageStore::UpsertRollups(const Rollups& rows) {
  // In key order: neighbouring rows share their pages.
  std::vector<const Rollups::value_type*> sorted;
  sorted.reserve(rows.size());
  for (const auto& entry : rows) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return std::tie(a->first.granularity, a->first.bucket, a->first.tenant,
                    a->first.key_id, a->first.model, a->first.provider) <
           std::tie(b->first.granularity, b->first.bucket, b->first.tenant,
                    b->first.key_id, b->first.model, b->first.provider);
  });
  auto next = sorted.begin();
  for (size_t left = sorted.size(); left > 0;) {
    const int count =
        left >= static_cast<size_t>(kRollupsPerUpsert) ? kRollupsPerUpsert : 1;
    absl::Status error;
    sqlite3_stmt* statement =
        count == 1
            ? Prepared(kRollup, Built<RollupUpsertSql, 1>(), error)
            : Prepared(kRollupMany, Built<RollupUpsertSql, kRollupsPerUpsert>(),
                       error);
    if (statement == nullptr) return error;
    int parameter = 1;
    for (int i = 0; i < count; ++i, ++next, --left) {
      const auto& [key, row] = **next;
      sqlite3_bind_int64(statement, parameter++, key.granularity);
      sqlite3_bind_int64(statement, parameter++, key.bucket);
      BindStatic(statement, parameter++, key.tenant);
      BindStatic(statement, parameter++, key.key_id);
      BindStatic(statement, parameter++, key.model);
      BindStatic(statement, parameter++, key.provider);
      for (int64_t value : row.Values()) {
        sqlite3_bind_int64(statement, parameter++, value);
      }
    }
    int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) return SqliteError(db_, "update rollups");
  }
  return absl::OkStatus();
}

absl::StatusOr<sluice::v1::ReportResponse> SqliteUsageStore::Report(
    const sluice::v1::ReportQuery& query) {
  absl::StatusOr<ReportPlan> plan = PlanReport(query, absl::Now());
  if (!plan.ok()) return plan.status();
  const std::string sql =
      ReportSql(*plan, "usage_rollups", [](int) { return "?"; });
  absl::MutexLock lock(&mu_);
  Statement select;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &select.stmt, nullptr) !=
      SQLITE_OK) {
    return SqliteError(db_, "prepare report");
  }
  sqlite3_bind_int64(select.stmt, 1, plan->granularity);
  sqlite3_bind_int64(select.stmt, 2, plan->from);
  sqlite3_bind_int64(select.stmt, 3, plan->to);
  int parameter = 4;
  for (const auto& filter : plan->filters) {
    sqlite3_bind_text(select.stmt, parameter++, filter.second.c_str(), -1,
                      SQLITE_TRANSIENT);
  }
  sluice::v1::ReportResponse report;
  report.set_granularity(query.granularity());
  const int columns = sqlite3_column_count(select.stmt);
  std::vector<int64_t> values(RollupColumns().size());
  int rc;
  while ((rc = sqlite3_step(select.stmt)) == SQLITE_ROW) {
    int column = 0;
    sluice::v1::ReportRow row;
    if (plan->per_bucket) {
      row.mutable_bucket_start()->set_seconds(
          sqlite3_column_int64(select.stmt, column++));
    }
    for (const std::string& dimension : plan->group_columns) {
      const unsigned char* text = sqlite3_column_text(select.stmt, column++);
      SetDimension(dimension,
                   text == nullptr ? "" : reinterpret_cast<const char*>(text),
                   row);
    }
    for (size_t i = 0; i < values.size() && column < columns; ++i) {
      values[i] = sqlite3_column_int64(select.stmt, column++);
    }
    RollupRow sums = RollupRow::FromValues(values.data());
    if (sums.requests == 0) continue;
    sums.FillReportRow(row);
    *report.add_rows() = std::move(row);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read report");
  return report;
}

absl::StatusOr<sluice::v1::UsageEvent> SqliteUsageStore::FindRequest(
    const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  Statement select;
  if (sqlite3_prepare_v2(db_,
                         "SELECT event FROM usage_events WHERE request_id = ?",
                         -1, &select.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare request lookup");
  }
  sqlite3_bind_text(select.stmt, 1, request_id.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(select.stmt);
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(
        absl::StrCat("no usage recorded for request ", request_id));
  }
  if (rc != SQLITE_ROW) return SqliteError(db_, "read request");
  sluice::v1::UsageEvent event;
  const void* blob = sqlite3_column_blob(select.stmt, 0);
  if (!event.ParseFromArray(blob, sqlite3_column_bytes(select.stmt, 0))) {
    return absl::DataLossError(
        absl::StrCat("the stored event of request ", request_id,
                     " does not parse"));
  }
  return event;
}

absl::StatusOr<std::optional<int64_t>> SqliteUsageStore::NextOffset(
    const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  Statement query;
  if (sqlite3_prepare_v2(db_,
                         "SELECT next_offset FROM consumed_offsets "
                         "WHERE topic = ? AND partition_id = ?",
                         -1, &query.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare offset");
  }
  sqlite3_bind_text(query.stmt, 1, topic.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(query.stmt, 2, partition);
  int rc = sqlite3_step(query.stmt);
  if (rc == SQLITE_ROW) {
    return std::optional<int64_t>(sqlite3_column_int64(query.stmt, 0));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read offset");
  return std::optional<int64_t>();
}

}  // namespace sluice::metering
