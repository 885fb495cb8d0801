#include "services/ingress/job_store.h"

#include "absl/strings/str_cat.h"

namespace sluice::ingress {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS job_results (
  job_id TEXT PRIMARY KEY,
  line TEXT NOT NULL,
  stored_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
)sql";

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("job store: ", what, ": ", sqlite3_errmsg(db)));
}

// Finalizes a statement when it goes.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    absl::Status error = SqliteError(db, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status error = absl::InternalError(
        absl::StrCat("job store: creating the schema: ", message ? message : ""));
    sqlite3_free(message);
    sqlite3_close(db);
    return error;
  }
  return std::unique_ptr<JobStore>(new JobStore(db));
}

JobStore::~JobStore() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::StatusOr<std::optional<std::string>> JobStore::Result(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  Statement s;
  if (sqlite3_prepare_v2(db_, "SELECT line FROM job_results WHERE job_id = ?", -1,
                         &s.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "reading a result");
  }
  sqlite3_bind_text(s.stmt, 1, job_id.data(), static_cast<int>(job_id.size()),
                    SQLITE_STATIC);
  int rc = sqlite3_step(s.stmt);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading a result");
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
  return std::optional<std::string>(
      std::string(text, static_cast<size_t>(sqlite3_column_bytes(s.stmt, 0))));
}

absl::Status JobStore::Store(const std::string& job_id, const std::string& line) {
  absl::MutexLock lock(&mu_);
  Statement s;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO job_results (job_id, line) VALUES (?, ?) "
                         "ON CONFLICT (job_id) DO NOTHING",
                         -1, &s.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "storing a result");
  }
  sqlite3_bind_text(s.stmt, 1, job_id.data(), static_cast<int>(job_id.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text(s.stmt, 2, line.data(), static_cast<int>(line.size()),
                    SQLITE_STATIC);
  if (sqlite3_step(s.stmt) != SQLITE_DONE) return SqliteError(db_, "storing a result");
  return absl::OkStatus();
}

}  // namespace sluice::ingress
