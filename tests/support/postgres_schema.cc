#include "tests/support/postgres_schema.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sluice::testing {

absl::StatusOr<std::unique_ptr<PostgresSchema>> PostgresSchema::Create(
    absl::string_view prefix) {
  const char* dsn = std::getenv("SLUICE_TEST_POSTGRES");
  if (dsn == nullptr) {
    return absl::FailedPreconditionError(
        "SLUICE_TEST_POSTGRES is not set (a libpq DSN; ./dev test starts a "
        "server and sets it)");
  }
  PGconn* admin = PQconnectdb(dsn);
  if (PQstatus(admin) != CONNECTION_OK) {
    std::string message = PQerrorMessage(admin);
    PQfinish(admin);
    return absl::UnavailableError(
        absl::StrCat("SLUICE_TEST_POSTGRES: ", message));
  }
  PQsetNoticeProcessor(
      admin, [](void*, const char*) {}, nullptr);
  static std::atomic<int> count{0};
  std::string name = absl::StrCat(prefix, "_", getpid(), "_", ++count);
  std::unique_ptr<PostgresSchema> schema(new PostgresSchema(
      admin, name, absl::StrCat(dsn, " options='-c search_path=", name, "'")));
  // One left by a killed run with the same process id goes first.
  absl::Status created =
      schema->Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name, " CASCADE"));
  if (created.ok())
    created = schema->Exec(absl::StrCat("CREATE SCHEMA ", name));
  if (!created.ok()) return created;
  return schema;
}

PostgresSchema::~PostgresSchema() {
  Exec(absl::StrCat("DROP SCHEMA IF EXISTS ", name_, " CASCADE")).IgnoreError();
  PQfinish(admin_);
}

absl::Status PostgresSchema::Exec(const std::string& sql) {
  PGresult* result = PQexec(admin_, sql.c_str());
  absl::Status status = PQresultStatus(result) == PGRES_COMMAND_OK
                            ? absl::OkStatus()
                            : absl::InternalError(absl::StrCat(
                                  sql, ": ", PQerrorMessage(admin_)));
  PQclear(result);
  return status;
}

}  // namespace sluice::testing
