// KeyStore on SQLite: one connection, serialized by a mutex. File databases
// use WAL and a busy timeout so several processes (replicas in tests) can
// share one file.
#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/hash/sha256.h"
#include "libs/keystore/key_columns.h"
#include "libs/keystore/key_secret.h"
#include "libs/keystore/key_store.h"

namespace sluice::keystore {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sluice_keys (
  id TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  last4 TEXT NOT NULL,
  models TEXT NOT NULL,
  rpm INTEGER NOT NULL,
  tpm INTEGER NOT NULL,
  budget_micro_usd INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  cache_policy TEXT NOT NULL,
  created_at_us INTEGER NOT NULL,
  revoked_at_us INTEGER,
  changed_at_us INTEGER NOT NULL,
  change_seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sluice_keys_tenant ON sluice_keys (tenant);
)sql";

// After the column exists (tables made before it get it added).
constexpr const char* kChangeSeqIndex =
    "CREATE INDEX IF NOT EXISTS sluice_keys_by_change_seq ON sluice_keys "
    "(change_seq);";

// The next change's sequence, read inside a write transaction (writers are
// serialized, so it increases in commit order).
constexpr const char* kNextChangeSeq =
    "SELECT COALESCE(MAX(change_seq), 0) + 1 FROM sluice_keys";

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* text = sqlite3_column_text(s, i);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       sqlite3_column_bytes(s, i));
}

void BindText(sqlite3_stmt* s, int i, absl::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
}

absl::StatusOr<KeyRecord> ReadRecord(sqlite3_stmt* s) {
  KeyRecord r;
  r.id = ColumnText(s, 0);
  r.tenant = ColumnText(s, 1);
  r.name = ColumnText(s, 2);
  r.last4 = ColumnText(s, 3);
  absl::StatusOr<std::vector<std::string>> models =
      DecodeModels(ColumnText(s, 4));
  if (!models.ok()) return models.status();
  r.policy.models = *std::move(models);
  r.policy.rpm = sqlite3_column_int64(s, 5);
  r.policy.tpm = sqlite3_column_int64(s, 6);
  r.policy.budget_micro_usd = sqlite3_column_int64(s, 7);
  r.policy.priority = sqlite3_column_int(s, 8);
  r.policy.cache = ColumnText(s, 9);
  r.created = FromMicros(sqlite3_column_int64(s, 10));
  if (sqlite3_column_type(s, 11) != SQLITE_NULL) {
    r.revoked = FromMicros(sqlite3_column_int64(s, 11));
  }
  r.secret_sha256 = ColumnText(s, 12);
  r.change_seq = sqlite3_column_int64(s, 13);
  return r;
}

class SqliteKeyStore : public KeyStore {
 public:
  explicit SqliteKeyStore(sqlite3* db) : db_(db) {}
  ~SqliteKeyStore() override { sqlite3_close_v2(db_); }

  // KeyStore
  absl::StatusOr<NewKey> Create(const std::string& tenant,
                                const std::string& name,
                                const KeyPolicy& policy) override {
    if (absl::Status s = ValidateNewKey(tenant, policy); !s.ok()) return s;
    NewKey key = MakeNewKey(tenant, name, policy, absl::Now());
    KeyRecord& r = key.record;
    absl::MutexLock lock(&mu_);
    absl::Status written = InWriteTransaction([&]() -> absl::Status {
      absl::StatusOr<int64_t> seq = NextChangeSeq();
      if (!seq.ok()) return seq.status();
      r.change_seq = *seq;
      absl::StatusOr<Stmt> stmt = Prepare(absl::StrCat(
          "INSERT INTO sluice_keys (", kKeyColumns,
          ", key_hash, changed_at_us, change_seq) VALUES "
          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, ?12, ?11, "
          "?13)"));
      if (!stmt.ok()) return stmt.status();
      sqlite3_stmt* s = stmt->get();
      BindText(s, 1, r.id);
      BindText(s, 2, r.tenant);
      BindText(s, 3, r.name);
      BindText(s, 4, r.last4);
      BindText(s, 5, EncodeModels(r.policy.models));
      sqlite3_bind_int64(s, 6, r.policy.rpm);
      sqlite3_bind_int64(s, 7, r.policy.tpm);
      sqlite3_bind_int64(s, 8, r.policy.budget_micro_usd);
      sqlite3_bind_int(s, 9, r.policy.priority);
      BindText(s, 10, r.policy.cache);
      sqlite3_bind_int64(s, 11, ToMicros(r.created));
      BindText(s, 12, hash::Sha256Hex(key.secret));
      sqlite3_bind_int64(s, 13, r.change_seq);
      if (sqlite3_step(s) != SQLITE_DONE) return Error("insert key");
      return absl::OkStatus();
    });
    if (!written.ok()) return written;
    return key;
  }

  absl::StatusOr<KeyRecord> FindByHash(absl::string_view sha256_hex) override {
    if (!LooksLikeKeyHash(sha256_hex)) return UnknownKey();
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Stmt> stmt =
        Prepare(absl::StrCat("SELECT ", kKeyColumnsRead,
                             " FROM sluice_keys WHERE key_hash = ?1 AND "
                             "revoked_at_us IS NULL"));
    if (!stmt.ok()) return stmt.status();
    BindText(stmt->get(), 1, sha256_hex);
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return UnknownKey();
    if (rc != SQLITE_ROW) return Error("find key");
    return ReadRecord(stmt->get());
  }

  absl::Status Revoke(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    return InWriteTransaction([&]() -> absl::Status {
      absl::StatusOr<Stmt> found =
          Prepare("SELECT revoked_at_us IS NULL FROM sluice_keys WHERE id = ?1");
      if (!found.ok()) return found.status();
      BindText(found->get(), 1, id);
      int rc = sqlite3_step(found->get());
      if (rc == SQLITE_DONE) {
        return absl::NotFoundError(absl::StrCat("no key with id ", id));
      }
      if (rc != SQLITE_ROW) return Error("find key to revoke");
      // A second revoke keeps the first revocation (time and change).
      if (sqlite3_column_int(found->get(), 0) == 0) return absl::OkStatus();
      absl::StatusOr<int64_t> seq = NextChangeSeq();
      if (!seq.ok()) return seq.status();
      absl::StatusOr<Stmt> stmt = Prepare(
          "UPDATE sluice_keys SET revoked_at_us = ?2, changed_at_us = ?2, "
          "change_seq = ?3 WHERE id = ?1");
      if (!stmt.ok()) return stmt.status();
      BindText(stmt->get(), 1, id);
      sqlite3_bind_int64(stmt->get(), 2, ToMicros(absl::Now()));
      sqlite3_bind_int64(stmt->get(), 3, *seq);
      if (sqlite3_step(stmt->get()) != SQLITE_DONE) return Error("revoke key");
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<KeyRecord>> List(
      const std::string& tenant) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Stmt> stmt =
        Prepare(absl::StrCat("SELECT ", kKeyColumnsRead,
                             " FROM sluice_keys WHERE ?1 = '' OR tenant = ?1 "
                             "ORDER BY created_at_us, id"));
    if (!stmt.ok()) return stmt.status();
    BindText(stmt->get(), 1, tenant);
    return ReadAll(stmt->get());
  }

  absl::StatusOr<std::vector<KeyRecord>> ChangedAfter(
      int64_t change_seq) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Stmt> stmt = Prepare(absl::StrCat(
        "SELECT ", kKeyColumnsRead,
        " FROM sluice_keys WHERE change_seq > ?1 ORDER BY change_seq"));
    if (!stmt.ok()) return stmt.status();
    sqlite3_bind_int64(stmt->get(), 1, change_seq);
    return ReadAll(stmt->get());
  }

 private:
  static absl::Status UnknownKey() {
    return absl::NotFoundError("unknown or revoked API key");
  }

  absl::Status Error(absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::UnavailableError(
        absl::StrCat("keystore sqlite: ", what, ": ", sqlite3_errmsg(db_)));
  }

  // Runs `write` in a transaction that holds SQLite's write lock from its
  // start (BEGIN IMMEDIATE: other processes' writers wait on the busy
  // timeout), committed when it returns OK and rolled back otherwise.
  absl::Status InWriteTransaction(absl::FunctionRef<absl::Status()> write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      return Error("begin");
    }
    absl::Status status = write();
    if (status.ok() &&
        sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      status = Error("commit");
    }
    if (!status.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }

  absl::StatusOr<int64_t> NextChangeSeq() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Stmt> stmt = Prepare(kNextChangeSeq);
    if (!stmt.ok()) return stmt.status();
    if (sqlite3_step(stmt->get()) != SQLITE_ROW) return Error("next change");
    return sqlite3_column_int64(stmt->get(), 0);
  }

  absl::StatusOr<Stmt> Prepare(absl::string_view sql)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s,
                           nullptr) != SQLITE_OK) {
      return Error("prepare");
    }
    return Stmt(s);
  }

  absl::StatusOr<std::vector<KeyRecord>> ReadAll(sqlite3_stmt* s)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<KeyRecord> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      absl::StatusOr<KeyRecord> r = ReadRecord(s);
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
    }
    if (rc != SQLITE_DONE) return Error("read keys");
    return out;
  }

  absl::Mutex mu_;
  sqlite3* const db_;  // used under mu_
};

}  // namespace

absl::StatusOr<KeyStorePtr> OpenSqliteKeyStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(
        absl::StrCat("keystore sqlite: open ", path, ": ", message));
  }
  sqlite3_busy_timeout(db, 5000);
  std::string setup = path == ":memory:" ? "" : "PRAGMA journal_mode=WAL;";
  setup += kSchema;
  char* error = nullptr;
  auto failed = [&](absl::string_view what) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    sqlite3_close_v2(db);
    return absl::UnavailableError(
        absl::StrCat("keystore sqlite: ", what, ": ", message));
  };
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    return failed("schema");
  }
  // A table made before change sequences gets the column (its keys keep
  // sequence 0: a replica reads them at its start).
  sqlite3_stmt* probe = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT change_seq FROM sluice_keys LIMIT 0", -1,
                         &probe, nullptr) != SQLITE_OK) {
    if (sqlite3_exec(db,
                     "ALTER TABLE sluice_keys ADD COLUMN change_seq INTEGER "
                     "NOT NULL DEFAULT 0",
                     nullptr, nullptr, &error) != SQLITE_OK) {
      return failed("add change_seq");
    }
  }
  sqlite3_finalize(probe);
  if (sqlite3_exec(db, kChangeSeqIndex, nullptr, nullptr, &error) !=
      SQLITE_OK) {
    return failed("schema");
  }
  return std::make_unique<SqliteKeyStore>(db);
}

}  // namespace sluice::keystore
