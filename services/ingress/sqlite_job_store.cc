// JobStore on an embedded SQLite file: one connection, serialized by a
// mutex. The file belongs to one replica.
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/sqlite/sqlite_statement.h"
#include "services/ingress/job_store.h"

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

class SqliteJobStore : public JobStore {
 public:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  ~SqliteJobStore() override {
    absl::MutexLock lock(&mu_);
    sqlite3_close(db_);
  }

  // JobStore
  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> Results(
      const std::vector<std::string>& job_ids) override {
    absl::flat_hash_map<std::string, std::string> found;
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Stmt> s =
        sqlite::Prepare(db_, "SELECT line FROM job_results WHERE job_id = ?");
    if (!s.ok()) return s.status();
    for (const std::string& job_id : job_ids) {
      sqlite3_reset(s->get());
      sqlite::BindText(s->get(), 1, job_id);
      int rc = sqlite3_step(s->get());
      if (rc == SQLITE_DONE) continue;
      if (rc != SQLITE_ROW) return SqliteError(db_, "reading a result");
      found.emplace(job_id, sqlite::ColumnText(s->get(), 0));
    }
    return found;
  }

  absl::Status Store(
      const std::vector<std::pair<std::string, std::string>>& lines) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Transaction> transaction =
        sqlite::Transaction::Begin(db_, "job store: storing results");
    if (!transaction.ok()) return transaction.status();
    absl::StatusOr<sqlite::Stmt> s =
        sqlite::Prepare(db_,
                        "INSERT INTO job_results (job_id, line) VALUES (?, ?) "
                        "ON CONFLICT (job_id) DO NOTHING");
    if (!s.ok()) return s.status();
    for (const auto& [job_id, line] : lines) {
      sqlite3_reset(s->get());
      sqlite::BindText(s->get(), 1, job_id);
      sqlite::BindText(s->get(), 2, line);
      if (sqlite3_step(s->get()) != SQLITE_DONE) {
        return SqliteError(db_, "storing a result");
      }
    }
    return transaction->Commit();
  }

 private:
  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<JobStorePtr> OpenSqliteJobStore(const std::string& path) {
  absl::StatusOr<sqlite3*> db = sqlite::Open(path, kSchema, "job store");
  if (!db.ok()) return db.status();
  return std::make_unique<SqliteJobStore>(*db);
}

}  // namespace sluice::ingress
