#include "libs/sqlite/sqlite_statement.h"

#include "absl/strings/str_cat.h"

namespace sluice::sqlite {

absl::Status Error(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

absl::StatusOr<sqlite3*> Open(const std::string& path, const char* schema,
                              absl::string_view what) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    absl::Status error = Error(db, absl::StrCat(what, ": opening ", path));
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  if (absl::Status created = Exec(db, schema, absl::StrCat(what, ": creating the schema"));
      !created.ok()) {
    sqlite3_close(db);
    return created;
  }
  return db;
}

absl::StatusOr<Stmt> Prepare(sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt,
                         nullptr) != SQLITE_OK) {
    return Error(db, "preparing a statement");
  }
  return Stmt(stmt);
}

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    absl::Status error =
        absl::InternalError(absl::StrCat(what, ": ", message ? message : ""));
    sqlite3_free(message);
    return error;
  }
  return absl::OkStatus();
}

void BindText(sqlite3_stmt* stmt, int index, absl::string_view value) {
  sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
}

std::string ColumnText(sqlite3_stmt* stmt, int index) {
  const unsigned char* text = sqlite3_column_text(stmt, index);
  return text == nullptr
             ? std::string()
             : std::string(reinterpret_cast<const char*>(text),
                           static_cast<size_t>(sqlite3_column_bytes(stmt, index)));
}

absl::StatusOr<Transaction> Transaction::Begin(sqlite3* db, absl::string_view what) {
  if (absl::Status begun = Exec(db, "BEGIN IMMEDIATE", what); !begun.ok()) return begun;
  return Transaction(db, what);
}

Transaction::~Transaction() {
  if (db_ != nullptr) Exec(db_, "ROLLBACK", what_).IgnoreError();
}

absl::Status Transaction::Commit() {
  absl::Status committed = Exec(db_, "COMMIT", what_);
  if (committed.ok()) db_ = nullptr;  // else the destructor rolls back
  return committed;
}

}  // namespace sluice::sqlite
