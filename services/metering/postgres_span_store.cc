// SpanStore on PostgreSQL: one multi-row INSERT per batch on a connection
// of its own (timeouts as the usage store's), reset when it breaks.
#include <libpq-fe.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/pq/pq_handles.h"
#include "libs/pq/pq_session.h"
#include "services/metering/span_store.h"

namespace sluice::metering {
namespace {

using pq::Conn;
using pq::Result;

constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_span_schema'));
CREATE TABLE IF NOT EXISTS sluice_request_spans (
  request_id TEXT NOT NULL,
  first_span_id TEXT NOT NULL,
  start_unix_nano BIGINT NOT NULL,
  spans BYTEA NOT NULL,  -- sluice.v1.SpanBatch
  PRIMARY KEY (request_id, first_span_id)
);
CREATE INDEX IF NOT EXISTS sluice_request_spans_by_start
  ON sluice_request_spans (start_unix_nano);
COMMIT;
)sql";

constexpr const char* kSessionSettings =
    "SET statement_timeout = 30000; SET synchronous_commit = off";

using pq::Parameters;

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

  absl::Status Record(sluice::v1::SpanBatch batch) override {
    std::vector<RequestSpans> rows = GroupByRequest(std::move(batch));
    if (rows.empty()) return absl::OkStatus();
    std::string sql =
        "INSERT INTO sluice_request_spans (request_id, first_span_id, "
        "start_unix_nano, spans) VALUES ";
    Parameters parameters;
    for (size_t i = 0; i < rows.size(); ++i) {
      const int n = static_cast<int>(4 * i);
      absl::StrAppend(&sql, i == 0 ? "" : ", ", "($", n + 1, ", $", n + 2,
                      ", $", n + 3, ", $", n + 4, ")");
      parameters.Text(rows[i].request_id);
      parameters.Text(rows[i].first_span_id);
      parameters.Text(std::to_string(rows[i].start_unix_nano));
      parameters.Bytes(rows[i].spans.SerializeAsString());
    }
    sql += " ON CONFLICT DO NOTHING";
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> stored = Exec(sql, parameters, "store spans");
    return stored.status();
  }

  absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) override {
    Parameters parameters;
    parameters.Text(request_id);
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> result =
        Exec("SELECT spans FROM sluice_request_spans WHERE request_id = $1",
             parameters, "read spans", /*binary_result=*/true);
    if (!result.ok()) return result.status();
    std::vector<sluice::v1::SpanBatch> rows;
    for (int row = 0; row < PQntuples(result->get()); ++row) {
      if (!rows.emplace_back().ParseFromArray(
              PQgetvalue(result->get(), row, 0),
              PQgetlength(result->get(), row, 0))) {
        return absl::DataLossError("stored spans do not parse");
      }
    }
    return MergeRequestSpans(std::move(rows));
  }

  absl::StatusOr<int64_t> Prune(absl::Time cutoff) override {
    Parameters parameters;
    parameters.Text(std::to_string(absl::ToUnixNanos(cutoff)));
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Result> pruned =
        Exec("DELETE FROM sluice_request_spans WHERE start_unix_nano < $1",
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
    return pq::ExecParams(conn_.get(), sql, parameters, kSessionSettings,
                          "span store", what, binary_result);
  }

  absl::Mutex mu_;
  Conn conn_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<SpanStorePtr> OpenPostgresSpanStore(const std::string& dsn) {
  absl::StatusOr<Conn> conn = pq::Connect(dsn, kSessionSettings, "span store");
  if (!conn.ok()) return conn.status();
  auto store = std::make_unique<PostgresSpanStore>(*std::move(conn));
  if (absl::Status s = store->CreateSchema(); !s.ok()) return s;
  return store;
}

}  // namespace sluice::metering
