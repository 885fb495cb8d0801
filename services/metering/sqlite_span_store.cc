// SpanStore on SQLite. Spans are worth less than usage: written with
// synchronous=NORMAL on their own connection.
#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "libs/sqlite/sqlite_statement.h"
#include "services/metering/span_store.h"

namespace sluice::metering {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS spans (
  request_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  start_unix_nano INTEGER NOT NULL,
  span BLOB NOT NULL,
  PRIMARY KEY (request_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_unix_nano);
)sql";

class SqliteSpanStore final : public SpanStore {
 public:
  explicit SqliteSpanStore(sqlite3* db) : db_(db) {}
  ~SqliteSpanStore() override { sqlite3_close(db_); }

  absl::Status Record(const std::vector<sluice::v1::Span>& spans) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Transaction> transaction =
        sqlite::Transaction::Begin(db_, "store spans");
    if (!transaction.ok()) return transaction.status();
    absl::StatusOr<sqlite::Stmt> insert = sqlite::Prepare(
        db_,
        "INSERT OR IGNORE INTO spans (request_id, span_id, start_unix_nano, "
        "span) VALUES (?, ?, ?, ?)");
    if (!insert.ok()) return insert.status();
    std::string bytes;
    for (const sluice::v1::Span& span : spans) {
      sqlite3_stmt* stmt = insert->get();
      sqlite3_reset(stmt);
      span.SerializeToString(&bytes);
      sqlite::BindText(stmt, 1, span.request_id());
      sqlite::BindText(stmt, 2, span.span_id());
      sqlite3_bind_int64(stmt, 3, span.start_unix_nano());
      sqlite3_bind_blob(stmt, 4, bytes.data(), static_cast<int>(bytes.size()),
                        SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sqlite::Error(db_, "store span");
      }
    }
    return transaction->Commit();
  }

  absl::StatusOr<std::vector<sluice::v1::Span>> FindByRequest(
      const std::string& request_id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Stmt> select = sqlite::Prepare(
        db_, "SELECT span FROM spans WHERE request_id = ?");
    if (!select.ok()) return select.status();
    sqlite::BindText(select->get(), 1, request_id);
    std::vector<sluice::v1::Span> spans;
    int step;
    while ((step = sqlite3_step(select->get())) == SQLITE_ROW) {
      sluice::v1::Span& span = spans.emplace_back();
      const void* blob = sqlite3_column_blob(select->get(), 0);
      const int size = sqlite3_column_bytes(select->get(), 0);
      if (!span.ParseFromArray(blob, size)) {
        return absl::DataLossError("a stored span does not parse");
      }
    }
    if (step != SQLITE_DONE) return sqlite::Error(db_, "read spans");
    std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
      return a.start_unix_nano() < b.start_unix_nano();
    });
    return spans;
  }

  absl::StatusOr<int64_t> Prune(absl::Time cutoff) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<sqlite::Stmt> prune = sqlite::Prepare(
        db_, "DELETE FROM spans WHERE start_unix_nano < ?");
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
};

}  // namespace

absl::StatusOr<SpanStorePtr> OpenSqliteSpanStore(const std::string& path) {
  absl::StatusOr<sqlite3*> db = sqlite::Open(path, kSchema, "span store");
  if (!db.ok()) return db.status();
  return std::make_unique<SqliteSpanStore>(*db);
}

}  // namespace sluice::metering
