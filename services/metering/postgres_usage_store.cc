#include "services/metering/postgres_usage_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/pq/pq_handles.h"
#include "libs/pq/pq_session.h"
#include "services/metering/report_plan.h"
#include "services/metering/usage_rollup.h"

namespace sluice::metering {
namespace {

using pq::Conn;
using pq::Result;

// Rows per multi-row statement (PostgreSQL takes at most 65535 parameters).
constexpr size_t kRowsPerStatement = 500;

constexpr const char* kRollupKeyColumns =
    "granularity, bucket, tenant, key_id, model, provider";

// The advisory lock keeps replicas that start together from racing on
// CREATE TABLE IF NOT EXISTS (which is not atomic in PostgreSQL).
std::string SchemaSql() {
  std::string rollup_columns;
  for (const std::string& column : RollupColumns()) {
    absl::StrAppend(&rollup_columns, ", ", column,
                    " BIGINT NOT NULL DEFAULT 0");
  }
  // Tables created before a column existed get it.
  std::string added_columns;
  for (const char* column : kRollupColumnsAddedLater) {
    absl::StrAppend(&added_columns,
                    "ALTER TABLE sluice_usage_rollups ADD COLUMN IF NOT EXISTS ",
                    column, " BIGINT NOT NULL DEFAULT 0;\n");
  }
  return absl::StrCat(R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_usage_schema'));
CREATE TABLE IF NOT EXISTS sluice_usage_events (
  request_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  model TEXT NOT NULL,
  status INTEGER NOT NULL,
  prompt_tokens BIGINT NOT NULL,
  completion_tokens BIGINT NOT NULL,
  event BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS sluice_usage_totals (
  tenant TEXT NOT NULL,
  model TEXT NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  cached_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  total_tokens BIGINT NOT NULL DEFAULT 0,
  price_micro_usd BIGINT NOT NULL DEFAULT 0,
  upstream_cost_micro_usd BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, model));
CREATE TABLE IF NOT EXISTS sluice_consumed_offsets (
  topic TEXT NOT NULL,
  partition_id INTEGER NOT NULL,
  next_offset BIGINT NOT NULL,
  PRIMARY KEY (topic, partition_id));
CREATE TABLE IF NOT EXISTS sluice_usage_rollups (
  granularity BIGINT NOT NULL,
  bucket BIGINT NOT NULL,
  tenant TEXT NOT NULL,
  key_id TEXT NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL)sql",
                      rollup_columns, R"sql(,
  PRIMARY KEY (granularity, bucket, tenant, key_id, model, provider));
)sql",
                      added_columns, "COMMIT;\n");
}

int64_t Int64At(PGresult* result, int row, int column) {
  int64_t value = 0;
  if (!PQgetisnull(result, row, column)) {
    (void)absl::SimpleAtoi(PQgetvalue(result, row, column), &value);
  }
  return value;
}

// "(\$k, \$k+1, ...)" for `count` parameters from `first`.
std::string Placeholders(int first, size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) {
    names.push_back(absl::StrCat("$", first + static_cast<int>(i)));
  }
  return absl::StrCat("(", absl::StrJoin(names, ", "), ")");
}

// "c = table.c + EXCLUDED.c, ..." for an additive upsert.
template <typename Columns>
std::string AddExcluded(const std::string& table, const Columns& columns) {
  std::vector<std::string> updates;
  for (const auto& column : columns) {
    updates.push_back(absl::StrCat(column, " = ", table, ".", column,
                                   " + EXCLUDED.", column));
  }
  return absl::StrJoin(updates, ", ");
}

// Query parameters: text, or binary where marked (bytea).
using pq::Parameters;

// A hung server fails a statement instead of holding metering forever.
constexpr const char* kSessionSettings = "SET statement_timeout = 30000";

class PostgresUsageStore : public UsageStore {
 public:
  explicit PostgresUsageStore(Conn conn) : conn_(std::move(conn)) {}

  absl::Status CreateSchema() {
    absl::MutexLock lock(&mu_);
    Result result(PQexec(conn_.get(), SchemaSql().c_str()));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      absl::Status error = absl::UnavailableError(
          absl::StrCat("metering schema: ", PQerrorMessage(conn_.get())));
      Result(PQexec(conn_.get(), "ROLLBACK"));
      return error;
    }
    return absl::OkStatus();
  }

  // UsageStore
  absl::StatusOr<bool> Record(const sluice::v1::UsageEvent& event) override {
    absl::StatusOr<int> added = RecordAll({event}, {});
    if (!added.ok()) return added.status();
    return *added == 1;
  }

  absl::StatusOr<int> RecordAll(
      const std::vector<sluice::v1::UsageEvent>& events,
      const std::vector<ConsumedOffset>& offsets) override {
    absl::MutexLock lock(&mu_);
    if (absl::StatusOr<Result> begun = Exec("BEGIN", {}, "begin");
        !begun.ok()) {
      return begun.status();
    }
    absl::StatusOr<int> added = RecordInTransaction(events, offsets);
    if (added.ok()) {
      absl::StatusOr<Result> committed = Exec("COMMIT", {}, "commit");
      if (committed.ok()) return added;
      added = committed.status();
    }
    Exec("ROLLBACK", {}, "rollback").IgnoreError();
    return added.status();
  }

  absl::StatusOr<std::optional<int64_t>> NextOffset(
      const std::string& topic, int32_t partition) override {
    absl::MutexLock lock(&mu_);
    Parameters parameters;
    parameters.Text(topic);
    parameters.Int(partition);
    absl::StatusOr<Result> result = Exec(
        "SELECT next_offset FROM sluice_consumed_offsets WHERE topic = $1 "
        "AND partition_id = $2",
        parameters, "read offset");
    if (!result.ok()) return result.status();
    if (PQntuples(result->get()) == 0) return std::optional<int64_t>();
    return std::optional<int64_t>(Int64At(result->get(), 0, 0));
  }

  absl::StatusOr<sluice::v1::UsageReport> Totals(
      const std::string& tenant) override {
    absl::MutexLock lock(&mu_);
    Parameters parameters;
    parameters.Text(tenant);
    absl::StatusOr<Result> result =
        Exec(absl::StrCat(
                 "SELECT tenant, model, ", absl::StrJoin(kTotalColumns, ", "),
                 " FROM sluice_usage_totals WHERE $1 = '' OR tenant = $1 "
                 "ORDER BY tenant, model"),
             parameters, "read totals");
    if (!result.ok()) return result.status();
    sluice::v1::UsageReport report;
    PGresult* rows = result->get();
    for (int row = 0; row < PQntuples(rows); ++row) {
      sluice::v1::UsageTotal* total = report.add_totals();
      total->set_tenant(PQgetvalue(rows, row, 0));
      total->set_model(PQgetvalue(rows, row, 1));
      total->set_requests(Int64At(rows, row, 2));
      total->set_errors(Int64At(rows, row, 3));
      total->set_prompt_tokens(Int64At(rows, row, 4));
      total->set_completion_tokens(Int64At(rows, row, 5));
      total->set_cached_tokens(Int64At(rows, row, 6));
      total->set_reasoning_tokens(Int64At(rows, row, 7));
      total->set_total_tokens(Int64At(rows, row, 8));
      total->set_price_micro_usd(Int64At(rows, row, 9));
      total->set_upstream_cost_micro_usd(Int64At(rows, row, 10));
      report.set_events(report.events() + total->requests());
    }
    return report;
  }

  absl::StatusOr<sluice::v1::ReportResponse> Report(
      const sluice::v1::ReportQuery& query) override {
    absl::StatusOr<ReportPlan> plan = PlanReport(query, absl::Now());
    if (!plan.ok()) return plan.status();
    Parameters parameters;
    parameters.Int(plan->granularity);
    parameters.Int(plan->from);
    parameters.Int(plan->to);
    for (const auto& filter : plan->filters) parameters.Text(filter.second);
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> result =
        Exec(ReportSql(*plan, "sluice_usage_rollups",
                       [](int i) { return absl::StrCat("$", i); }),
             parameters, "read report");
    if (!result.ok()) return result.status();
    sluice::v1::ReportResponse report;
    report.set_granularity(query.granularity());
    PGresult* rows = result->get();
    std::vector<int64_t> values(RollupColumns().size());
    for (int row = 0; row < PQntuples(rows); ++row) {
      int column = 0;
      sluice::v1::ReportRow out;
      if (plan->per_bucket) {
        out.mutable_bucket_start()->set_seconds(Int64At(rows, row, column++));
      }
      for (const std::string& dimension : plan->group_columns) {
        SetDimension(dimension, PQgetvalue(rows, row, column++), out);
      }
      for (int64_t& value : values) value = Int64At(rows, row, column++);
      RollupRow sums = RollupRow::FromValues(values.data());
      if (sums.requests == 0) continue;
      sums.FillReportRow(out);
      *report.add_rows() = std::move(out);
    }
    return report;
  }

  absl::StatusOr<sluice::v1::UsageEvent> FindRequest(
      const std::string& request_id) override {
    absl::MutexLock lock(&mu_);
    Parameters parameters;
    parameters.Text(request_id);
    absl::StatusOr<Result> result =
        Exec("SELECT event FROM sluice_usage_events WHERE request_id = $1",
             parameters, "read request", /*binary_result=*/true);
    if (!result.ok()) return result.status();
    if (PQntuples(result->get()) == 0) {
      return absl::NotFoundError(
          absl::StrCat("no usage recorded for request ", request_id));
    }
    sluice::v1::UsageEvent event;
    if (!event.ParseFromArray(PQgetvalue(result->get(), 0, 0),
                              PQgetlength(result->get(), 0, 0))) {
      return absl::DataLossError(absl::StrCat("the stored event of request ",
                                              request_id, " does not parse"));
    }
    return event;
  }

 private:
  absl::StatusOr<int> RecordInTransaction(
      const std::vector<sluice::v1::UsageEvent>& events,
      const std::vector<ConsumedOffset>& offsets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // The same request twice in one batch is stored once.
    absl::flat_hash_set<std::string> seen;
    std::vector<const sluice::v1::UsageEvent*> unique;
    for (const auto& event : events) {
      if (seen.insert(event.request_id()).second) unique.push_back(&event);
    }
    absl::flat_hash_set<std::string> added;
    for (size_t from = 0; from < unique.size(); from += kRowsPerStatement) {
      size_t to = std::min(unique.size(), from + kRowsPerStatement);
      Parameters parameters;
      std::vector<std::string> rows;
      for (size_t i = from; i < to; ++i) {
        const sluice::v1::UsageEvent& event = *unique[i];
        rows.push_back(
            Placeholders(static_cast<int>(parameters.values.size()) + 1, 7));
        parameters.Text(event.request_id());
        parameters.Text(event.tenant());
        parameters.Text(event.model());
        parameters.Int(event.status());
        parameters.Int(event.usage().prompt_tokens());
        parameters.Int(event.usage().completion_tokens());
        parameters.Bytes(event.SerializeAsString());
      }
      absl::StatusOr<Result> inserted = Exec(
          absl::StrCat("INSERT INTO sluice_usage_events (request_id, tenant, "
                       "model, status, prompt_tokens, completion_tokens, "
                       "event) VALUES ",
                       absl::StrJoin(rows, ", "),
                       " ON CONFLICT (request_id) DO NOTHING "
                       "RETURNING request_id"),
          parameters, "insert events");
      if (!inserted.ok()) return inserted.status();
      for (int row = 0; row < PQntuples(inserted->get()); ++row) {
        added.insert(PQgetvalue(inserted->get(), row, 0));
      }
    }
    BatchTotals totals;
    RollupBatch rollups;
    for (const sluice::v1::UsageEvent* event : unique) {
      if (!added.contains(event->request_id())) continue;
      totals[{event->tenant(), event->model()}].Add(*event);
      rollups.Add(*event);
    }
    if (absl::Status s = UpsertTotals(totals); !s.ok()) return s;
    if (absl::Status s = UpsertRollups(rollups.Rows()); !s.ok()) return s;
    if (absl::Status s = StoreOffsets(offsets); !s.ok()) return s;
    return static_cast<int>(added.size());
  }

  absl::Status UpsertTotals(const BatchTotals& totals)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (totals.empty()) return absl::OkStatus();
    Parameters parameters;
    std::vector<std::string> rows;
    for (const auto& [key, sums] : totals) {
      rows.push_back(
          Placeholders(static_cast<int>(parameters.values.size()) + 1,
                       2 + sums.values.size()));
      parameters.Text(key.first);
      parameters.Text(key.second);
      for (int64_t value : sums.values) parameters.Int(value);
    }
    return Exec(absl::StrCat("INSERT INTO sluice_usage_totals (tenant, model, ",
                             absl::StrJoin(kTotalColumns, ", "), ") VALUES ",
                             absl::StrJoin(rows, ", "),
                             " ON CONFLICT (tenant, model) DO UPDATE SET ",
                             AddExcluded("sluice_usage_totals", kTotalColumns)),
                parameters, "update totals")
        .status();
  }

  absl::Status UpsertRollups(const Rollups& rollups)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // In key order, so that replicas never wait on each other's rows in
    // opposite orders.
    std::vector<const std::pair<const RollupKey, RollupRow>*> all;
    for (const auto& entry : rollups) all.push_back(&entry);
    std::sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
      return std::tie(a->first.granularity, a->first.bucket, a->first.tenant,
                      a->first.key_id, a->first.model, a->first.provider) <
             std::tie(b->first.granularity, b->first.bucket, b->first.tenant,
                      b->first.key_id, b->first.model, b->first.provider);
    });
    for (size_t from = 0; from < all.size(); from += kRowsPerStatement / 2) {
      size_t to = std::min(all.size(), from + kRowsPerStatement / 2);
      Parameters parameters;
      std::vector<std::string> rows;
      for (size_t i = from; i < to; ++i) {
        const auto& [key, row] = *all[i];
        std::vector<int64_t> values = row.Values();
        rows.push_back(Placeholders(
            static_cast<int>(parameters.values.size()) + 1, 6 + values.size()));
        parameters.Int(key.granularity);
        parameters.Int(key.bucket);
        parameters.Text(key.tenant);
        parameters.Text(key.key_id);
        parameters.Text(key.model);
        parameters.Text(key.provider);
        for (int64_t value : values) parameters.Int(value);
      }
      absl::StatusOr<Result> upserted = Exec(
          absl::StrCat("INSERT INTO sluice_usage_rollups (", kRollupKeyColumns,
                       ", ", absl::StrJoin(RollupColumns(), ", "), ") VALUES ",
                       absl::StrJoin(rows, ", "), " ON CONFLICT (",
                       kRollupKeyColumns, ") DO UPDATE SET ",
                       AddExcluded("sluice_usage_rollups", RollupColumns())),
          parameters, "update rollups");
      if (!upserted.ok()) return upserted.status();
    }
    return absl::OkStatus();
  }

  absl::Status StoreOffsets(const std::vector<ConsumedOffset>& offsets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const ConsumedOffset& offset : offsets) {
      Parameters parameters;
      parameters.Text(offset.topic);
      parameters.Int(offset.partition);
      parameters.Int(offset.next);
      // Offsets only move forward (a batch from before a rebalance may
      // arrive after a later one).
      absl::StatusOr<Result> stored = Exec(
          "INSERT INTO sluice_consumed_offsets (topic, partition_id, "
          "next_offset) VALUES ($1, $2, $3) ON CONFLICT (topic, partition_id) "
          "DO UPDATE SET next_offset = GREATEST("
          "sluice_consumed_offsets.next_offset, EXCLUDED.next_offset)",
          parameters, "store offset");
      if (!stored.ok()) return stored.status();
    }
    return absl::OkStatus();
  }

  // Runs one statement; a broken connection is reset for the next call.
  absl::StatusOr<Result> Exec(const std::string& sql,
                              const Parameters& parameters,
                              absl::string_view what,
                              bool binary_result = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pq::ExecParams(conn_.get(), sql, parameters, kSessionSettings,
                          "metering", what, binary_result);
  }

  absl::Mutex mu_;
  Conn conn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<UsageStorePtr> OpenPostgresUsageStore(const std::string& dsn) {
  absl::StatusOr<Conn> conn = pq::Connect(dsn, kSessionSettings, "metering");
  if (!conn.ok()) return conn.status();
  auto store = std::make_unique<PostgresUsageStore>(*std::move(conn));
  if (absl::Status s = store->CreateSchema(); !s.ok()) return s;
  return store;
}

}  // namespace sluice::metering
