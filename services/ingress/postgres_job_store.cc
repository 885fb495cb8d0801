// JobStore on PostgreSQL (jobs.postgres_dsn), shared by every ingress
// replica: one libpq connection, serialized by a mutex, reset when it
// breaks; every statement's answer is waited for a bounded time. Every
// value travels as a query parameter.
#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/pq/pq_handles.h"
#include "libs/pq/pq_session.h"
#include "services/ingress/job_store.h"

namespace sluice::ingress {
namespace {

// The advisory lock keeps replicas that start together from racing on
// CREATE TABLE IF NOT EXISTS (which is not atomic in PostgreSQL).
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('sluice_job_results_schema'));
CREATE TABLE IF NOT EXISTS sluice_job_results (
  job_id TEXT PRIMARY KEY,
  line TEXT NOT NULL,
  stored_at TIMESTAMPTZ NOT NULL DEFAULT now());
COMMIT;
)sql";

constexpr char kWho[] = "job store postgres";
constexpr char kSessionSettings[] = "SET statement_timeout = 10000";
constexpr absl::Duration kStatementTimeout = absl::Seconds(12);
// Rows per INSERT (PostgreSQL takes at most 65535 parameters).
constexpr size_t kRowsPerStatement = 500;

class PostgresJobStore : public JobStore {
 public:
  explicit PostgresJobStore(pq::Conn conn) : conn_(std::move(conn)) {}

  // JobStore
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> Results(
      const std::vector<std::string>& job_ids) override {
    absl::flat_hash_map<std::string, std::string> found;
    absl::MutexLock lock(&mu_);
    for (size_t from = 0; from < job_ids.size(); from += kRowsPerStatement) {
      const size_t to = std::min(job_ids.size(), from + kRowsPerStatement);
      std::string sql = "SELECT job_id, line FROM sluice_job_results WHERE job_id IN (";
      pq::Parameters parameters;
      for (size_t i = from; i < to; ++i) {
        absl::StrAppend(&sql, i == from ? "$" : ", $", i - from + 1);
        parameters.Text(job_ids[i]);
      }
      sql += ")";
      absl::StatusOr<pq::Result> res = Exec(sql, parameters, "read results");
      if (!res.ok()) return res.status();
      for (int row = 0; row < PQntuples(res->get()); ++row) {
        found.emplace(PQgetvalue(res->get(), row, 0), PQgetvalue(res->get(), row, 1));
      }
    }
    return found;
  }

  absl::Status Store(
      const std::vector<std::pair<std::string, std::string>>& lines) override {
    absl::MutexLock lock(&mu_);
    return pq::InTransaction(
        conn_.get(), kSessionSettings, kWho, kStatementTimeout,
        [&]() -> absl::Status {
          for (size_t from = 0; from < lines.size();
               from += kRowsPerStatement) {
            const size_t to = std::min(lines.size(), from + kRowsPerStatement);
            std::string sql =
                "INSERT INTO sluice_job_results (job_id, line) VALUES ";
            pq::Parameters parameters;
            for (size_t i = from; i < to; ++i) {
              const size_t n = 2 * (i - from);
              absl::StrAppend(&sql, i == from ? "" : ", ", "($", n + 1, ", $",
                              n + 2, ")");
              parameters.Text(lines[i].first);
              parameters.Text(lines[i].second);
            }
            absl::StrAppend(&sql, " ON CONFLICT (job_id) DO NOTHING");
            if (absl::Status s =
                    Exec(sql, parameters, "store results").status();
                !s.ok()) {
              return s;
            }
          }
          return absl::OkStatus();
        });
  }

 private:
  absl::StatusOr<pq::Result> Exec(const std::string& sql,
                                  const pq::Parameters& parameters,
                                  absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pq::ExecParams(conn_.get(), sql, parameters, kSessionSettings, kWho,
                          what,
                          /*binary_result=*/false, kStatementTimeout);
  }

  absl::Mutex mu_;
  const pq::Conn conn_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<JobStorePtr> OpenPostgresJobStore(const std::string& dsn) {
  // libpq's message does not repeat the DSN's password.
  absl::StatusOr<pq::Conn> conn =
      pq::Connect(dsn, kSessionSettings, "job store");
  if (!conn.ok()) return conn.status();
  pq::Result res(PQexec(conn->get(), kSchema));
  if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(
        absl::StrCat(kWho, ": schema: ", PQerrorMessage(conn->get())));
  }
  return std::make_unique<PostgresJobStore>(*std::move(conn));
}

}  // namespace sluice::ingress
