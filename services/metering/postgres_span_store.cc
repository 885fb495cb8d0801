// SpanStore on PostgreSQL: one multi-row INSERT per batch on a connection
// of its own (timeouts as the usage store's), reset when it breaks.
#include <libpq-fe.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/pq/pq_handles.h"
#include "services/metering/span_store.h"

namespace sluice::metering {
namespace {

using pq::Conn;
using pq::Result;

constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_span_schema'));
CREATE TABLE IF NOT EXISTS sluice_spans (
  request_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  start_unix_nano BIGINT NOT NULL,
  span BYTEA NOT NULL,
  PRIMARY KEY (request_id, span_id)
);
CREATE INDEX IF NOT EXISTS sluice_spans_by_start
  ON sluice_spans (start_unix_nano);
COMMIT;
)sql";

constexpr const char* kSessionSettings =
    "SET statement_timeout = 30000; SET synchronous_commit = off";

// Text parameters, and binary ones where `binary` says so.
struct Parameters {
  std::vector<std::string> values;
  std::vector<int> binary;
  void Add(std::string value, bool is_binary = false) {
    values.push_back(std::move(value));
    binary.push_back(is_binary ? 1 : 0);
  }
};

class PostgresSpanStore final : public SpanStore {
 public:
  explicit PostgresSpanStore(Conn conn) : conn_(std::move(conn)) {}

  absl::Status CreateSchema() {
    absl::MutexLock lock(&mu_);
    Result result(PQexec(conn_.get(), kSchema));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      absl::Status error = absl::UnavailableError(
          absl::StrCat("span store schema: ", PQerrorMessage(conn_.get())));
      Result(PQexec(conn_.get(), "ROLLBACK"));
      return error;
    }
    return absl::OkStatus();
  }

  absl::Status Record(const std::vector<sluice::v1::Span>& spans) override {
    if (spans.empty()) return absl::OkStatus();
    std::string sql =
        "INSERT INTO sluice_spans (request_id, span_id, start_unix_nano, "
        "span) VALUES ";
    Parameters parameters;
    for (size_t i = 0; i < spans.size(); ++i) {
      const int n = static_cast<int>(4 * i);
      absl::StrAppend(&sql, i == 0 ? "" : ", ", "($", n + 1, ", $", n + 2,
                      ", $", n + 3, ", $", n + 4, ")");
      parameters.Add(spans[i].request_id());
      parameters.Add(spans[i].span_id());
      parameters.Add(std::to_string(spans[i].start_unix_nano()));
      parameters.Add(spans[i].SerializeAsString(), /*is_binary=*/true);
    }
    sql += " ON CONFLICT DO NOTHING";
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> stored = Exec(sql, parameters, "store spans");
    return stored.status();
  }

  absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) override {
    Parameters parameters;
    parameters.Add(request_id);
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> rows = Exec(
        "SELECT span FROM sluice_spans WHERE request_id = $1 "
        "ORDER BY start_unix_nano",
        parameters, "read spans", /*binary_result=*/true);
    if (!rows.ok()) return rows.status();
    std::vector<sluice::v1::Span> spans;
    for (int row = 0; row < PQntuples(rows->get()); ++row) {
      if (!spans.emplace_back().ParseFromArray(
              PQgetvalue(rows->get(), row, 0),
              PQgetlength(rows->get(), row, 0))) {
        return absl::DataLossError("a stored span does not parse");
      }
    }
    return spans;
  }

  absl::StatusOr<int64_t> Prune(absl::Time cutoff) override {
    Parameters parameters;
    parameters.Add(std::to_string(absl::ToUnixNanos(cutoff)));
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> pruned =
        Exec("DELETE FROM sluice_spans WHERE start_unix_nano < $1",
             parameters, "prune spans");
    if (!pruned.ok()) return pruned.status();
    int64_t count = 0;
    absl::SimpleAtoi(PQcmdTuples(pruned->get()), &count);
    return count;
  }

 private:
  absl::StatusOr<Result> Exec(const std::string& sql,
                              const Parameters& parameters,
                              absl::string_view what,
                              bool binary_result = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const std::string& value : parameters.values) {
      values.push_back(value.data());
      lengths.push_back(static_cast<int>(value.size()));
    }
    Result result(PQexecParams(
        conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
        values.data(), lengths.data(), parameters.binary.data(),
        binary_result ? 1 : 0));
    ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return result;
    }
    absl::Status error = absl::UnavailableError(
        absl::StrCat("span store ", what, ": ", PQerrorMessage(conn_.get())));
    if (PQstatus(conn_.get()) == CONNECTION_BAD) {
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) == CONNECTION_OK) {
        Result(PQexec(conn_.get(), kSessionSettings));
      }
    }
    return error;
  }

  absl::Mutex mu_;
  Conn conn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<SpanStorePtr> OpenPostgresSpanStore(const std::string& dsn) {
  const char* const keys[] = {"dbname", "connect_timeout", nullptr};
  const char* const values[] = {dsn.c_str(), "5", nullptr};
  Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("span store: cannot connect to PostgreSQL: ",
                     PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  Result settings(PQexec(conn.get(), kSessionSettings));
  if (PQresultStatus(settings.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(
        absl::StrCat("span store: PostgreSQL: ", PQerrorMessage(conn.get())));
  }
  auto store = std::make_unique<PostgresSpanStore>(std::move(conn));
  if (absl::Status s = store->CreateSchema(); !s.ok()) return s;
  return store;
}

}  // namespace sluice::metering
