#include "tests/libs/keystore/test_database.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/keystore/key_secret.h"

namespace sluice::keystore {
namespace {

std::string ReadFileIfAny(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SqliteTestDatabase : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string dir)
      : dir_(std::move(dir)), path_(dir_ + "/keys.db") {}
  ~SqliteTestDatabase() override { std::filesystem::remove_all(dir_); }

  static absl::StatusOr<std::unique_ptr<TestDatabase>> Make() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sluice-keystore-XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("mkdtemp failed");
    }
    return std::make_unique<SqliteTestDatabase>(tmpl);
  }

  std::string KeysConfigYaml() const override {
    return absl::StrCat("{sqlite_path: \"", path_, "\"}");
  }

  absl::StatusOr<KeyStorePtr> Open() override {
    return OpenSqliteKeyStore(path_);
  }

  absl::StatusOr<std::string> DumpAll() override {
    absl::StatusOr<std::string> rows = Query(
        "SELECT id || '|' || key_hash || '|' || tenant || '|' || name || '|' "
        "|| last4 || '|' || models || '|' || cache_policy FROM sluice_keys");
    if (!rows.ok()) return rows.status();
    // The files too: text is stored verbatim, so a secret written anywhere
    // (a column, the WAL) would show here.
    return absl::StrCat(*rows, ReadFileIfAny(path_),
                        ReadFileIfAny(path_ + "-wal"));
  }

  absl::StatusOr<std::string> StoredHash(const std::string& id) override {
    // `id` comes from the store under test (key_ + hex), but bind it anyway.
    sqlite3* db = nullptr;
    if (sqlite3_open(path_.c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      return absl::InternalError("open");
    }
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT key_hash FROM sluice_keys WHERE id = ?1", -1,
                       &s, nullptr);
    sqlite3_bind_text(s, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    std::string hash;
    if (sqlite3_step(s) == SQLITE_ROW) {
      hash = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (hash.empty()) return absl::NotFoundError(id);
    return hash;
  }

 private:
  absl::StatusOr<std::string> Query(const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path_.c_str(), &db) != SQLITE_OK) {
      sqlite3_close(db);
      return absl::InternalError("open");
    }
    std::string out;
    char* error = nullptr;
    int rc = sqlite3_exec(
        db, sql.c_str(),
        [](void* arg, int n, char** values, char**) {
          auto* out = static_cast<std::string*>(arg);
          for (int i = 0; i < n; ++i) {
            absl::StrAppend(out, values[i] ? values[i] : "NULL", "\n");
          }
          return 0;
        },
        &out, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    if (rc != SQLITE_OK) return absl::InternalError(message);
    return out;
  }

  const std::string dir_;
  const std::string path_;
};

// A schema named for this run, dropped at the end, so parallel runs on one
// server do not meet.
class PostgresTestDatabase : public TestDatabase {
 public:
  PostgresTestDatabase(std::string base_dsn, PGconn* admin, std::string schema)
      : base_dsn_(std::move(base_dsn)),
        admin_(admin),
        schema_(std::move(schema)) {}
  ~PostgresTestDatabase() override {
    Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", schema_, " CASCADE"), {})
        .IgnoreError();
    PQfinish(admin_);
  }

  static absl::StatusOr<std::unique_ptr<TestDatabase>> Make() {
    const char* dsn = std::getenv("SLUICE_TEST_POSTGRES");
    PGconn* admin = PQconnectdb(dsn);
    if (PQstatus(admin) != CONNECTION_OK) {
      std::string message = PQerrorMessage(admin);
      PQfinish(admin);
      return absl::UnavailableError(message);
    }
    PQsetNoticeProcessor(
        admin, [](void*, const char*) {}, nullptr);
    // NewKeyId gives 12 random hex characters: a safe identifier.
    std::string schema = absl::StrCat("keystore_test_", NewKeyId().substr(4));
    auto db = std::make_unique<PostgresTestDatabase>(dsn, admin, schema);
    absl::StatusOr<std::string> created =
        db->Exec(absl::StrCat("CREATE SCHEMA ", schema), {});
    if (!created.ok()) return created.status();
    return db;
  }

  std::string KeysConfigYaml() const override {
    return absl::StrCat("{postgres_dsn: \"", Dsn(), "\"}");
  }

  absl::StatusOr<KeyStorePtr> Open() override {
    return OpenPostgresKeyStore(Dsn());
  }

  std::string Dsn() const {
    return absl::StrCat(base_dsn_, " options='-c search_path=", schema_, "'");
  }

  // Every row of every table in the schema (the store's own, and any it
  // may add), as text.
  absl::StatusOr<std::string> DumpAll() override {
    absl::StatusOr<std::string> tables = Exec(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = $1 ORDER BY table_name",
        {schema_});
    if (!tables.ok()) return tables.status();
    std::string out;
    for (absl::string_view table :
         absl::StrSplit(*tables, '\n', absl::SkipEmpty())) {
      absl::StatusOr<std::string> rows = Exec(
          absl::StrCat("SELECT t::text FROM ", schema_, ".\"", table, "\" t"),
          {});
      if (!rows.ok()) return rows.status();
      absl::StrAppend(&out, "== ", table, "\n", *rows);
    }
    return out;
  }

  absl::StatusOr<std::string> StoredHash(const std::string& id) override {
    absl::StatusOr<std::string> hash =
        Exec(absl::StrCat("SELECT key_hash FROM ", schema_,
                          ".sluice_keys WHERE id = $1"),
             {id});
    if (hash.ok() && hash->empty()) return absl::NotFoundError(id);
    if (hash.ok()) hash->pop_back();  // the row's newline
    return hash;
  }

 private:
  // Every value of every row, one per line.
  absl::StatusOr<std::string> Exec(const std::string& sql,
                                   const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PGresult* r =
        PQexecParams(admin_, sql.c_str(), static_cast<int>(values.size()),
                     nullptr, values.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string message = PQerrorMessage(admin_);
      PQclear(r);
      return absl::InternalError(message);
    }
    std::string out;
    for (int row = 0; row < PQntuples(r); ++row) {
      for (int col = 0; col < PQnfields(r); ++col) {
        absl::StrAppend(&out, PQgetvalue(r, row, col), "\n");
      }
    }
    PQclear(r);
    return out;
  }

  const std::string base_dsn_;
  PGconn* const admin_;
  const std::string schema_;
};

}  // namespace

TestBackend SqliteBackend() {
  return {"Sqlite", [] { return std::string(); }, SqliteTestDatabase::Make};
}

TestBackend PostgresBackend() {
  return {"Postgres",
          [] {
            return std::getenv("SLUICE_TEST_POSTGRES") == nullptr
                       ? std::string(
                             "SLUICE_TEST_POSTGRES is not set (a libpq DSN; "
                             "./dev test starts a server and sets it)")
                       : std::string();
          },
          PostgresTestDatabase::Make};
}

uint16_t TestPostgresPort() {
  const char* dsn = std::getenv("SLUICE_TEST_POSTGRES");
  if (dsn == nullptr) return 0;
  for (absl::string_view part : absl::StrSplit(dsn, ' ')) {
    int port = 0;
    if (absl::ConsumePrefix(&part, "port=") && absl::SimpleAtoi(part, &port)) {
      return static_cast<uint16_t>(port);
    }
  }
  return 0;
}

}  // namespace sluice::keystore
