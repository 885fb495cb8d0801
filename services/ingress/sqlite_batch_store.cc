// BatchStore on an embedded SQLite file (the job store's): one connection,
// serialized by a mutex. The file belongs to one replica; claims hold
// across processes that share it all the same (a test's replicas).
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/sqlite/sqlite_statement.h"
#include "services/ingress/batch_store.h"

namespace sluice::ingress {
namespace {

constexpr char kSchema[] = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS batch_files (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  purpose TEXT NOT NULL,
  filename TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  key_sha256 TEXT NOT NULL,
  input_file_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  completion_window TEXT NOT NULL,
  metadata TEXT NOT NULL,
  status TEXT NOT NULL,
  errors TEXT NOT NULL,
  output_file_id TEXT NOT NULL,
  error_file_id TEXT NOT NULL,
  created_at INTEGER, expires_at INTEGER, in_progress_at INTEGER,
  finalizing_at INTEGER, completed_at INTEGER, failed_at INTEGER,
  expired_at INTEGER, cancelling_at INTEGER, cancelled_at INTEGER,
  run_after INTEGER, run_now INTEGER NOT NULL,
  total INTEGER NOT NULL DEFAULT 0,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cached_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  cost_micro_usd INTEGER NOT NULL DEFAULT 0,
  cost_at_submission_micro_usd INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS batches_by_tenant ON batches (tenant, seq);
CREATE TABLE IF NOT EXISTS batch_lines (
  batch_id TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  custom_id TEXT NOT NULL,
  body TEXT NOT NULL,
  finished INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  PRIMARY KEY (batch_id, line_no)
);
CREATE INDEX IF NOT EXISTS batch_lines_pending ON batch_lines (batch_id, finished, line_no);
CREATE TABLE IF NOT EXISTS batch_claims (
  batch_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  lease_until_ms INTEGER NOT NULL
);
)sql";

constexpr char kBatchColumns[] =
    "id, tenant, key_sha256, input_file_id, endpoint, completion_window, "
    "metadata, status, errors, output_file_id, error_file_id, created_at, "
    "expires_at, in_progress_at, finalizing_at, completed_at, failed_at, "
    "expired_at, cancelling_at, cancelled_at, run_after, run_now, total, "
    "completed, failed, prompt_tokens, completion_tokens, cost_micro_usd, "
    "cost_at_submission_micro_usd, cached_tokens, reasoning_tokens";

constexpr char kFileColumns[] = "id, tenant, purpose, filename, bytes, created_at";

using sqlite::BindText;
using sqlite::ColumnText;
using sqlite::Prepare;
using sqlite::Stmt;

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return sqlite::Error(db, absl::StrCat("batch store: ", what));
}

// Times are Unix seconds (what OpenAI's objects show); null for "never".
void BindTime(sqlite3_stmt* s, int i, absl::Time t) {
  if (t == absl::InfinitePast()) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_int64(s, i, absl::ToUnixSeconds(t));
  }
}

absl::Time ColumnTime(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return absl::InfinitePast();
  return absl::FromUnixSeconds(sqlite3_column_int64(s, i));
}

StoredFile ReadFile(sqlite3_stmt* s) {
  StoredFile file;
  file.id = ColumnText(s, 0);
  file.tenant = ColumnText(s, 1);
  file.purpose = ColumnText(s, 2);
  file.filename = ColumnText(s, 3);
  file.bytes = sqlite3_column_int64(s, 4);
  file.created_at = ColumnTime(s, 5);
  return file;
}

BatchRecord ReadBatch(sqlite3_stmt* s) {
  BatchRecord b;
  b.id = ColumnText(s, 0);
  b.tenant = ColumnText(s, 1);
  b.key_sha256 = ColumnText(s, 2);
  b.input_file_id = ColumnText(s, 3);
  b.endpoint = ColumnText(s, 4);
  b.completion_window = ColumnText(s, 5);
  b.metadata_json = ColumnText(s, 6);
  b.status = ColumnText(s, 7);
  b.errors_json = ColumnText(s, 8);
  b.output_file_id = ColumnText(s, 9);
  b.error_file_id = ColumnText(s, 10);
  b.created_at = ColumnTime(s, 11);
  b.expires_at = ColumnTime(s, 12);
  b.in_progress_at = ColumnTime(s, 13);
  b.finalizing_at = ColumnTime(s, 14);
  b.completed_at = ColumnTime(s, 15);
  b.failed_at = ColumnTime(s, 16);
  b.expired_at = ColumnTime(s, 17);
  b.cancelling_at = ColumnTime(s, 18);
  b.cancelled_at = ColumnTime(s, 19);
  b.run_after = ColumnTime(s, 20);
  b.run_now = sqlite3_column_int(s, 21) != 0;
  b.total = sqlite3_column_int64(s, 22);
  b.completed = sqlite3_column_int64(s, 23);
  b.failed = sqlite3_column_int64(s, 24);
  b.prompt_tokens = sqlite3_column_int64(s, 25);
  b.completion_tokens = sqlite3_column_int64(s, 26);
  b.cost_micro_usd = sqlite3_column_int64(s, 27);
  b.cost_at_submission_micro_usd = sqlite3_column_int64(s, 28);
  b.cached_tokens = sqlite3_column_int64(s, 29);
  b.reasoning_tokens = sqlite3_column_int64(s, 30);
  return b;
}

// Binds the mutable part of a batch at ?1..?15 in UpdateBatch's order.
void BindMutable(sqlite3_stmt* s, const BatchRecord& b) {
  BindText(s, 1, b.status);
  BindText(s, 2, b.errors_json);
  BindText(s, 3, b.output_file_id);
  BindText(s, 4, b.error_file_id);
  BindTime(s, 5, b.in_progress_at);
  BindTime(s, 6, b.finalizing_at);
  BindTime(s, 7, b.completed_at);
  BindTime(s, 8, b.failed_at);
  BindTime(s, 9, b.expired_at);
  BindTime(s, 10, b.cancelling_at);
  BindTime(s, 11, b.cancelled_at);
  BindTime(s, 12, b.run_after);
  BindText(s, 13, b.id);
}

class SqliteBatchStore : public BatchStore {
 public:
  explicit SqliteBatchStore(sqlite3* db) : db_(db) {}
  ~SqliteBatchStore() override {
    absl::MutexLock lock(&mu_);
    sqlite3_close(db_);
  }

  // BatchStore
  absl::StatusOr<StoredFile> CreateFile(StoredFile file,
                                        absl::string_view content) override;
  absl::StatusOr<StoredFile> GetFile(const std::string& tenant,
                                     const std::string& id) override;
  absl::StatusOr<std::string> FileContent(const std::string& tenant,
                                          const std::string& id) override;
  absl::StatusOr<std::vector<StoredFile>> ListFiles(const std::string& tenant) override;
  absl::Status DeleteFile(const std::string& tenant, const std::string& id) override;
  absl::Status CreateBatch(const BatchRecord& batch) override;
  absl::StatusOr<BatchRecord> GetBatch(const std::string& tenant,
                                       const std::string& id) override;
  absl::StatusOr<std::vector<BatchRecord>> ListBatches(const std::string& tenant,
                                                       const std::string& after,
                                                       int limit) override;
  absl::StatusOr<std::vector<BatchRecord>> ActiveBatches() override;
  absl::Status UpdateBatch(const BatchRecord& batch, absl::string_view from) override;
  absl::StatusOr<BatchRecord> RequestCancel(const std::string& tenant,
                                            const std::string& id, absl::Time now) override;
  absl::StatusOr<bool> ClaimBatch(const std::string& id, const std::string& owner,
                                  absl::Duration lease) override;
  absl::Status ReleaseBatch(const std::string& id, const std::string& owner) override;
  absl::Status AddLines(const std::string& batch_id,
                        const std::vector<BatchLine>& lines) override;
  absl::StatusOr<std::vector<BatchLine>> PendingLines(const std::string& batch_id,
                                                      int64_t after_line,
                                                      int limit) override;
  absl::StatusOr<int> FinishLines(const std::string& batch_id,
                                  const std::vector<LineOutcome>& outcomes) override;
  absl::Status ForEachResult(const std::string& batch_id, bool ok,
                             const std::function<void(const std::string&)>& each) override;

 private:
  absl::StatusOr<BatchRecord> ReadBatchLocked(const std::string& tenant,
                                              const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<StoredFile> SqliteBatchStore::CreateFile(StoredFile file,
                                                  absl::string_view content) {
  if (file.id.empty()) file.id = NewObjectId("file-");
  file.bytes = static_cast<int64_t>(content.size());
  file.created_at = absl::FromUnixSeconds(absl::ToUnixSeconds(file.created_at));
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "INSERT OR REPLACE INTO batch_files (id, tenant, purpose, filename, "
           "bytes, created_at, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, file.id);
  BindText(s->get(), 2, file.tenant);
  BindText(s->get(), 3, file.purpose);
  BindText(s->get(), 4, file.filename);
  sqlite3_bind_int64(s->get(), 5, file.bytes);
  BindTime(s->get(), 6, file.created_at);
  // SQLITE_STATIC: `content` outlives the step; a 200 MB file is not copied.
  if (sqlite3_bind_blob64(s->get(), 7, content.data(), content.size(), SQLITE_STATIC) !=
      SQLITE_OK) {
    return SqliteError(db_, "storing a file");
  }
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "storing a file");
  return file;
}

absl::StatusOr<StoredFile> SqliteBatchStore::GetFile(const std::string& tenant,
                                               const std::string& id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat("SELECT ", kFileColumns,
                        " FROM batch_files WHERE id = ?1 AND tenant = ?2"));
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, tenant);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("No such File object: ", id));
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading a file");
  return ReadFile(s->get());
}

absl::StatusOr<std::string> SqliteBatchStore::FileContent(const std::string& tenant,
                                                    const std::string& id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "SELECT content FROM batch_files WHERE id = ?1 AND tenant = ?2");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, tenant);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("No such File object: ", id));
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading a file");
  const void* blob = sqlite3_column_blob(s->get(), 0);
  return std::string(static_cast<const char*>(blob),
                     static_cast<size_t>(sqlite3_column_bytes(s->get(), 0)));
}

absl::StatusOr<std::vector<StoredFile>> SqliteBatchStore::ListFiles(const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat("SELECT ", kFileColumns,
                        " FROM batch_files WHERE tenant = ?1 ORDER BY seq DESC"));
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, tenant);
  std::vector<StoredFile> files;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) files.push_back(ReadFile(s->get()));
  if (rc != SQLITE_DONE) return SqliteError(db_, "listing files");
  return files;
}

absl::Status SqliteBatchStore::DeleteFile(const std::string& tenant, const std::string& id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s =
      Prepare(db_, "DELETE FROM batch_files WHERE id = ?1 AND tenant = ?2");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, tenant);
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "deleting a file");
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("No such File object: ", id));
  }
  return absl::OkStatus();
}

absl::Status SqliteBatchStore::CreateBatch(const BatchRecord& b) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat("INSERT INTO batches (", kBatchColumns,
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, "
                        "0, 0, 0, 0, 0, 0, 0, 0, 0)"));
  if (!s.ok()) return s.status();
  sqlite3_stmt* st = s->get();
  BindText(st, 1, b.id);
  BindText(st, 2, b.tenant);
  BindText(st, 3, b.key_sha256);
  BindText(st, 4, b.input_file_id);
  BindText(st, 5, b.endpoint);
  BindText(st, 6, b.completion_window);
  BindText(st, 7, b.metadata_json);
  BindText(st, 8, b.status);
  BindText(st, 9, b.errors_json);
  BindText(st, 10, b.output_file_id);
  BindText(st, 11, b.error_file_id);
  BindTime(st, 12, b.created_at);
  BindTime(st, 13, b.expires_at);
  BindTime(st, 14, b.in_progress_at);
  BindTime(st, 15, b.finalizing_at);
  BindTime(st, 16, b.completed_at);
  BindTime(st, 17, b.failed_at);
  BindTime(st, 18, b.expired_at);
  BindTime(st, 19, b.cancelling_at);
  BindTime(st, 20, b.cancelled_at);
  BindTime(st, 21, b.run_after);
  sqlite3_bind_int(st, 22, b.run_now ? 1 : 0);
  if (sqlite3_step(st) != SQLITE_DONE) return SqliteError(db_, "storing a batch");
  return absl::OkStatus();
}

absl::StatusOr<BatchRecord> SqliteBatchStore::GetBatch(const std::string& tenant,
                                                 const std::string& id) {
  absl::MutexLock lock(&mu_);
  return ReadBatchLocked(tenant, id);
}

absl::StatusOr<BatchRecord> SqliteBatchStore::ReadBatchLocked(const std::string& tenant,
                                                        const std::string& id) {
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat("SELECT ", kBatchColumns,
                        " FROM batches WHERE id = ?1 AND tenant = ?2"));
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, tenant);
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("No such Batch object: ", id));
  if (rc != SQLITE_ROW) return SqliteError(db_, "reading a batch");
  return ReadBatch(s->get());
}

absl::StatusOr<std::vector<BatchRecord>> SqliteBatchStore::ListBatches(
    const std::string& tenant, const std::string& after, int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat(
               "SELECT ", kBatchColumns,
               " FROM batches WHERE tenant = ?1 AND (?2 = '' OR seq < (SELECT "
               "seq FROM batches WHERE id = ?2 AND tenant = ?1)) ORDER BY seq "
               "DESC LIMIT ?3"));
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, tenant);
  BindText(s->get(), 2, after);
  sqlite3_bind_int(s->get(), 3, limit);
  std::vector<BatchRecord> batches;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) batches.push_back(ReadBatch(s->get()));
  if (rc != SQLITE_DONE) return SqliteError(db_, "listing batches");
  return batches;
}

absl::StatusOr<std::vector<BatchRecord>> SqliteBatchStore::ActiveBatches() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, absl::StrCat("SELECT ", kBatchColumns,
                        " FROM batches WHERE status IN ('validating', "
                        "'in_progress', 'finalizing', 'cancelling') ORDER BY seq"));
  if (!s.ok()) return s.status();
  std::vector<BatchRecord> batches;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) batches.push_back(ReadBatch(s->get()));
  if (rc != SQLITE_DONE) return SqliteError(db_, "listing active batches");
  return batches;
}

absl::Status SqliteBatchStore::UpdateBatch(const BatchRecord& b, absl::string_view from) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "UPDATE batches SET status = ?1, errors = ?2, output_file_id = ?3, "
           "error_file_id = ?4, in_progress_at = ?5, finalizing_at = ?6, "
           "completed_at = ?7, failed_at = ?8, expired_at = ?9, "
           "cancelling_at = ?10, cancelled_at = ?11, run_after = ?12 "
           "WHERE id = ?13 AND status = ?14");
  if (!s.ok()) return s.status();
  BindMutable(s->get(), b);
  BindText(s->get(), 14, from);
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "updating a batch");
  if (sqlite3_changes(db_) == 0) {
    return absl::AbortedError(absl::StrCat("batch ", b.id, " is no longer ", from));
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchRecord> SqliteBatchStore::RequestCancel(const std::string& tenant,
                                                      const std::string& id,
                                                      absl::Time now) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "UPDATE batches SET status = 'cancelling', cancelling_at = ?3 "
           "WHERE id = ?1 AND tenant = ?2 AND status IN ('validating', "
           "'in_progress')");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, tenant);
  BindTime(s->get(), 3, now);
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "cancelling a batch");
  bool changed = sqlite3_changes(db_) > 0;
  absl::StatusOr<BatchRecord> batch = ReadBatchLocked(tenant, id);
  if (!batch.ok()) return batch.status();
  if (!changed && batch->status != kBatchCancelling) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Cannot cancel a batch with status '", batch->status, "'."));
  }
  return batch;
}

absl::StatusOr<bool> SqliteBatchStore::ClaimBatch(const std::string& id,
                                                  const std::string& owner,
                                                  absl::Duration lease) {
  // This machine's clock: every process that opens the file runs on it.
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "INSERT INTO batch_claims (batch_id, owner, lease_until_ms) "
           "VALUES (?1, ?2, ?4) ON CONFLICT (batch_id) DO UPDATE SET "
           "owner = excluded.owner, lease_until_ms = excluded.lease_until_ms "
           "WHERE batch_claims.owner = excluded.owner OR "
           "batch_claims.lease_until_ms < ?3");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, owner);
  sqlite3_bind_int64(s->get(), 3, absl::ToUnixMillis(now));
  sqlite3_bind_int64(s->get(), 4, absl::ToUnixMillis(now + lease));
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "claiming a batch");
  return sqlite3_changes(db_) > 0;
}

absl::Status SqliteBatchStore::ReleaseBatch(const std::string& id,
                                            const std::string& owner) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s =
      Prepare(db_, "DELETE FROM batch_claims WHERE batch_id = ?1 AND owner = ?2");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, id);
  BindText(s->get(), 2, owner);
  if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "releasing a batch");
  return absl::OkStatus();
}

absl::Status SqliteBatchStore::AddLines(const std::string& batch_id,
                                  const std::vector<BatchLine>& lines) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Transaction> transaction =
      sqlite::Transaction::Begin(db_, "batch store: adding lines");
  if (!transaction.ok()) return transaction.status();
  absl::StatusOr<Stmt> s = Prepare(
      db_, "INSERT OR IGNORE INTO batch_lines (batch_id, line_no, custom_id, body) "
           "VALUES (?1, ?2, ?3, ?4)");
  if (!s.ok()) return s.status();
  for (const BatchLine& line : lines) {
    sqlite3_reset(s->get());
    BindText(s->get(), 1, batch_id);
    sqlite3_bind_int64(s->get(), 2, line.line_no);
    BindText(s->get(), 3, line.custom_id);
    BindText(s->get(), 4, line.body);
    if (sqlite3_step(s->get()) != SQLITE_DONE) return SqliteError(db_, "adding a line");
  }
  absl::StatusOr<Stmt> total = Prepare(db_, "UPDATE batches SET total = ?2 WHERE id = ?1");
  if (!total.ok()) return total.status();
  BindText(total->get(), 1, batch_id);
  sqlite3_bind_int64(total->get(), 2, static_cast<int64_t>(lines.size()));
  if (sqlite3_step(total->get()) != SQLITE_DONE) return SqliteError(db_, "counting lines");
  return transaction->Commit();
}

absl::StatusOr<std::vector<BatchLine>> SqliteBatchStore::PendingLines(
    const std::string& batch_id, int64_t after_line, int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "SELECT line_no, custom_id, body FROM batch_lines WHERE batch_id = ?1 "
           "AND finished = 0 AND line_no > ?2 ORDER BY line_no LIMIT ?3");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, batch_id);
  sqlite3_bind_int64(s->get(), 2, after_line);
  sqlite3_bind_int(s->get(), 3, limit);
  std::vector<BatchLine> lines;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    lines.push_back({sqlite3_column_int64(s->get(), 0), ColumnText(s->get(), 1),
                     ColumnText(s->get(), 2)});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading lines");
  return lines;
}

absl::StatusOr<int> SqliteBatchStore::FinishLines(const std::string& batch_id,
                                            const std::vector<LineOutcome>& outcomes) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<sqlite::Transaction> transaction =
      sqlite::Transaction::Begin(db_, "batch store: finishing lines");
  if (!transaction.ok()) return transaction.status();
  absl::StatusOr<Stmt> line = Prepare(
      db_, "UPDATE batch_lines SET finished = 1, ok = ?3, result = ?4 "
           "WHERE batch_id = ?1 AND line_no = ?2 AND finished = 0");
  if (!line.ok()) return line.status();
  LineOutcome sum;
  int completed = 0;
  int finished = 0;
  for (const LineOutcome& outcome : outcomes) {
    sqlite3_reset(line->get());
    BindText(line->get(), 1, batch_id);
    sqlite3_bind_int64(line->get(), 2, outcome.line_no);
    sqlite3_bind_int(line->get(), 3, outcome.ok ? 1 : 0);
    BindText(line->get(), 4, outcome.result_line);
    if (sqlite3_step(line->get()) != SQLITE_DONE) return SqliteError(db_, "finishing a line");
    // A line finished before (run again after a restart) is not counted again.
    if (sqlite3_changes(db_) == 0) continue;
    ++finished;
    completed += outcome.ok ? 1 : 0;
    sum.prompt_tokens += outcome.prompt_tokens;
    sum.completion_tokens += outcome.completion_tokens;
    sum.cached_tokens += outcome.cached_tokens;
    sum.reasoning_tokens += outcome.reasoning_tokens;
    sum.cost_micro_usd += outcome.cost_micro_usd;
    sum.cost_at_submission_micro_usd += outcome.cost_at_submission_micro_usd;
  }
  absl::StatusOr<Stmt> sums = Prepare(
      db_, "UPDATE batches SET completed = completed + ?2, failed = failed + ?3, "
           "prompt_tokens = prompt_tokens + ?4, completion_tokens = "
           "completion_tokens + ?5, cost_micro_usd = cost_micro_usd + ?6, "
           "cost_at_submission_micro_usd = cost_at_submission_micro_usd + ?7, "
           "cached_tokens = cached_tokens + ?8, reasoning_tokens = "
           "reasoning_tokens + ?9 WHERE id = ?1");
  if (!sums.ok()) return sums.status();
  BindText(sums->get(), 1, batch_id);
  sqlite3_bind_int(sums->get(), 2, completed);
  sqlite3_bind_int(sums->get(), 3, finished - completed);
  sqlite3_bind_int64(sums->get(), 4, sum.prompt_tokens);
  sqlite3_bind_int64(sums->get(), 5, sum.completion_tokens);
  sqlite3_bind_int64(sums->get(), 6, sum.cost_micro_usd);
  sqlite3_bind_int64(sums->get(), 7, sum.cost_at_submission_micro_usd);
  sqlite3_bind_int64(sums->get(), 8, sum.cached_tokens);
  sqlite3_bind_int64(sums->get(), 9, sum.reasoning_tokens);
  if (sqlite3_step(sums->get()) != SQLITE_DONE) return SqliteError(db_, "counting lines");
  if (absl::Status committed = transaction->Commit(); !committed.ok()) return committed;
  return finished;
}

absl::Status SqliteBatchStore::ForEachResult(
    const std::string& batch_id, bool ok,
    const std::function<void(const std::string&)>& each) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Stmt> s = Prepare(
      db_, "SELECT result FROM batch_lines WHERE batch_id = ?1 AND finished = 1 "
           "AND ok = ?2 ORDER BY line_no");
  if (!s.ok()) return s.status();
  BindText(s->get(), 1, batch_id);
  sqlite3_bind_int(s->get(), 2, ok ? 1 : 0);
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) each(ColumnText(s->get(), 0));
  if (rc != SQLITE_DONE) return SqliteError(db_, "reading results");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchStorePtr> OpenSqliteBatchStore(const std::string& path) {
  absl::StatusOr<sqlite3*> db = sqlite::Open(path, kSchema, "batch store");
  if (!db.ok()) return db.status();
  return std::make_unique<SqliteBatchStore>(*db);
}

}  // namespace sluice::ingress
