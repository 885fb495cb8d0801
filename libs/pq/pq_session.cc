#include "libs/pq/pq_session.h"

#include "absl/strings/str_cat.h"

namespace sluice::pq {

absl::StatusOr<Conn> Connect(const std::string& dsn, const char* settings,
                             absl::string_view who) {
  // The DSN (key=value or URI) expanded, then a connect timeout of ours.
  const char* const keys[] = {"dbname", "connect_timeout", nullptr};
  const char* const values[] = {dsn.c_str(), "5", nullptr};
  Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        who, ": cannot connect to PostgreSQL: ", PQerrorMessage(conn.get())));
  }
  // Server notices ("relation already exists") are not worth a log line.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  Result applied(PQexec(conn.get(), settings));
  if (PQresultStatus(applied.get()) != PGRES_COMMAND_OK) {
    return absl::UnavailableError(
        absl::StrCat(who, ": PostgreSQL: ", PQerrorMessage(conn.get())));
  }
  return conn;
}

absl::StatusOr<Result> ExecParams(PGconn* conn, const std::string& sql,
                                  const Parameters& parameters,
                                  const char* settings, absl::string_view who,
                                  absl::string_view what, bool binary_result) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const std::string& value : parameters.values) {
    values.push_back(value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  Result result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()),
                             nullptr, values.data(), lengths.data(),
                             parameters.binary.data(), binary_result ? 1 : 0));
  ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  absl::Status error = absl::UnavailableError(
      absl::StrCat(who, " ", what, ": ", PQerrorMessage(conn)));
  if (PQstatus(conn) == CONNECTION_BAD) {
    PQreset(conn);
    if (PQstatus(conn) == CONNECTION_OK) Result(PQexec(conn, settings));
  }
  return error;
}

}  // namespace sluice::pq
