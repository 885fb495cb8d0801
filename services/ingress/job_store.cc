#include "services/ingress/job_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "libs/sqlite/sqlite_statement.h"
#include "libs/status/errors.h"

namespace sluice::ingress {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS job_results (
  job_id TEXT PRIMARY KEY,
  line TEXT NOT NULL,
  stored_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
)sql";

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return sqlite::Error(db, absl::StrCat("job store: ", what));
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  absl::StatusOr<sqlite3*> db = sqlite::Open(path, kSchema, "job store");
  if (!db.ok()) return db.status();
  return std::unique_ptr<JobStore>(new JobStore(*db));
}

std::string JobStore::JobId(absl::string_view tenant, absl::string_view custom_id) {
  return absl::StrCat(absl::StrReplaceAll(tenant, {{"%", "%25"}, {"/", "%2F"}}),
                      "/", custom_id);
}

absl::StatusOr<std::string> JobStore::FinishedResult(absl::string_view tenant,
                                                     absl::string_view custom_id) {
  absl::StatusOr<std::optional<std::string>> line = Result(JobId(tenant, custom_id));
  if (!line.ok()) return line.status();
  if (!line->has_value()) {
    return status::NotFound(absl::StrCat("no finished job \"", custom_id,
                                         "\" for this key's tenant (it may still be "
                                         "queued or running)"),
                            "custom_id");
  }
  return **std::move(line);
}

JobStore::~JobStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::StatusOr<std::optional<std::string>> JobStore::Result(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Stmt> s =
      sqlite::Prepare(db_, "SELECT line FROM job_results WHERE job_id = ?");
  if (!s.ok()) return s.status();
  sqlite::BindText(s->get(), 1, job_id);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading a result");
  return std::optional<std::string>(sqlite::ColumnText(s->get(), 0));
}

absl::Status JobStore::Store(
    const std::vector<std::pair<std::string, std::string>>& lines) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Transaction> transaction =
      sqlite::Transaction::Begin(db_, "job store: storing results");
  if (!transaction.ok()) return transaction.status();
  absl::StatusOr<sqlite::Stmt> s = sqlite::Prepare(
      db_, "INSERT INTO job_results (job_id, line) VALUES (?, ?) "
           "ON CONFLICT (job_id) DO NOTHING");
  if (!s.ok()) return s.status();
  for (const auto& [job_id, line] : lines) {
    sqlite3_reset(s->get());
    sqlite::BindText(s->get(), 1, job_id);
    sqlite::BindText(s->get(), 2, line);
    if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "storing a result");
  }
  return transaction->Commit();
}

}  // namespace sluice::ingress
