// What every SQLite-backed store needs around the C API: statements that
// finalize themselves, binding and reading text, errors as absl::Status,
// and write transactions that roll back unless committed.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::sqlite {

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Opens (creating if needed) the database at `path` (":memory:" works)
// with a 5 s busy timeout and runs `schema` on it; the caller closes it.
absl::StatusOr<sqlite3*> Open(const std::string& path, const char* schema,
                              absl::string_view what);

// INTERNAL: "`what`: <SQLite's message>".
absl::Status Error(sqlite3* db, absl::string_view what);

absl::StatusOr<Stmt> Prepare(sqlite3* db, absl::string_view sql);
// Runs statements that return no rows (schema, pragmas).
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what);

// Binds a copy of `value` (SQLITE_TRANSIENT).
void BindText(sqlite3_stmt* stmt, int index, absl::string_view value);
// Column `index` as text ("" for NULL).
std::string ColumnText(sqlite3_stmt* stmt, int index);

// BEGIN IMMEDIATE ... COMMIT; rolled back when destroyed uncommitted, or
// when COMMIT itself fails (so the connection never stays inside a
// transaction).
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(sqlite3* db, absl::string_view what);
  Transaction(Transaction&& other) noexcept
      : db_(other.db_), what_(std::move(other.what_)) {
    other.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  absl::Status Commit();

 private:
  explicit Transaction(sqlite3* db, absl::string_view what) : db_(db), what_(what) {}

  sqlite3* db_;
  std::string what_;
};

}  // namespace sluice::sqlite
