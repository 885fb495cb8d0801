// SpanStore on SQLite. Spans are worth less than usage: written with
// synchronous=NORMAL on their own connection.
#include <sqlite3.h>

#include <utility>

#include "absl/synchronization/mutex.h"
#include "libs/sqlite/sqlite_statement.h"
#include "services/metering/span_store.h"

namespace sluice::metering {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS request_spans (
  request_id TEXT NOT NULL,
  first_span_id TEXT NOT NULL,
  start_unix_nano INTEGER NOT NULL,
  spans BLOB NOT NULL,  -- sluice.v1.SpanBatch
  PRIMARY KEY (request_id, first_span_id)
);
CREATE INDEX IF NOT EXISTS request_spans_by_start
  ON request_spans (start_unix_nano);
)sql";

class SqliteSpanStore final : public SpanStore {
 public:
  explicit SqliteSpanStore(sqlite3* db) : db_(db) {}
  ~SqliteSpanStore() override {
    insert_.reset();  // a statement left open keeps the database open
    sqlite3_close(db_);
  }

  absl::Status Record(sluice::v1::SpanBatch batch) override {
    std::vector<RequestSpans> rows = GroupByRequest(std::move(batch));
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Transaction> transaction =
        sqlite::Transaction::Begin(db_, "store spans");
    if (!transaction.ok()) return transaction.status();
    if (insert_ == nullptr) {
      absl::StatusOr<sqlite::Stmt> insert = sqlite::Prepare(
          db_,
          "INSERT OR IGNORE INTO request_spans (request_id, first_span_id, "
          "start_unix_nano, spans) VALUES (?, ?, ?, ?)");
      if (!insert.ok()) return insert.status();
      insert_ = *std::move(insert);
    }
    std::string bytes;
    sqlite3_stmt* stmt = insert_.get();
    for (const RequestSpans& row : rows) {
      sqlite3_reset(stmt);
      row.spans.SerializeToString(&bytes);
      sqlite::BindText(stmt, 1, row.request_id);
      sqlite::BindText(stmt, 2, row.first_span_id);
      sqlite3_bind_int64(stmt, 3, row.start_unix_nano);
      sqlite3_bind_blob(stmt, 4, bytes.data(), static_cast<int>(bytes.size()),
                        SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) != SQLITE_DONE) {
        absl::Status error = sqlite::Error(db_, "store spans");
        sqlite3_reset(stmt);
        return error;
      }
    }
    sqlite3_reset(stmt);
    return transaction->Commit();
  }

  absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Stmt> select = sqlite::Prepare(
        db_, "SELECT spans FROM request_spans WHERE request_id = ?");
    if (!select.ok()) return select.status();
    sqlite::BindText(select->get(), 1, request_id);
    std::vector<sluice::v1::SpanBatch> rows;
    int step;
    while ((step = sqlite3_step(select->get())) == SQLITE_ROW) {
      const void* blob = sqlite3_column_blob(select->get(), 0);
      const int size = sqlite3_column_bytes(select->get(), 0);
      if (!rows.emplace_back().ParseFromArray(blob, size)) {
        return absl::DataLossError("stored spans do not parse");
      }
    }
    if (step != SQLITE_DONE) return sqlite::Error(db_, "read spans");
    return MergeRequestSpans(std::move(rows));
  }

  absl::StatusOr<int64_t> Prune(absl::Time cutoff) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Stmt> prune = sqlite::Prepare(
        db_, "DELETE FROM request_spans WHERE start_unix_nano < ?");
    if (!prune.ok()) return prune.status();
    sqlite3_bind_int64(prune->get(), 1, absl::ToUnixNanos(cutoff));
    if (sqlite3_step(prune->get()) != SQLITE_DONE) {
      return sqlite::Error(db_, "prune spans");
    }
    return sqlite3_changes(db_);
  }

 private:
  absl::Mutex mu_;
  sqlite3* const db_;
  // Prepared once: every batch uses it.
  sqlite::Stmt insert_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<SpanStorePtr> OpenSqliteSpanStore(const std::string& path) {
  absl::StatusOr<sqlite3*> db = sqlite::Open(path, kSchema, "span store");
  if (!db.ok()) return db.status();
  return std::make_unique<SqliteSpanStore>(*db);
}

}  // namespace sluice::metering
