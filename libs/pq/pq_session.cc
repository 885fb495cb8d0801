#include "libs/pq/pq_session.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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

namespace {

// Reconnects and applies `settings` again.
void Reset(PGconn* conn, const char* settings) {
  PQreset(conn);
  if (PQstatus(conn) == CONNECTION_OK) Result(PQexec(conn, settings));
}

// Waits for the answer of the statement just sent, until `deadline`: the
// last result (one per statement), or nullptr when the connection failed or
// the deadline passed (`*timed_out` then).
Result AwaitResult(PGconn* conn, absl::Time deadline, bool* timed_out) {
  Result last;
  while (true) {
    if (PQconsumeInput(conn) == 0) return nullptr;
    while (!PQisBusy(conn)) {
      PGresult* next = PQgetResult(conn);
      if (next == nullptr) return last;
      last.reset(next);
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      *timed_out = true;
      return nullptr;
    }
    pollfd readable = {PQsocket(conn), POLLIN, 0};
    const int64_t ms = std::clamp<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), 1,
        1000);
    if (poll(&readable, 1, static_cast<int>(ms)) < 0 && errno != EINTR) {
      return nullptr;
    }
  }
}

}  // namespace

absl::StatusOr<Result> ExecParams(PGconn* conn, const std::string& sql,
                                  const Parameters& parameters,
                                  const char* settings, absl::string_view who,
                                  absl::string_view what, bool binary_result,
                                  absl::Duration timeout) {
  // Broken, or still busy with a statement given up on at its timeout.
  if (PQstatus(conn) == CONNECTION_BAD ||
      PQtransactionStatus(conn) == PQTRANS_ACTIVE) {
    Reset(conn, settings);
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const std::string& value : parameters.values) {
    values.push_back(value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  const int count = static_cast<int>(values.size());
  Result result;
  bool timed_out = false;
  if (timeout == absl::InfiniteDuration()) {
    result.reset(PQexecParams(conn, sql.c_str(), count, nullptr, values.data(),
                              lengths.data(), parameters.binary.data(),
                              binary_result ? 1 : 0));
  } else if (PQsendQueryParams(conn, sql.c_str(), count, nullptr,
                               values.data(), lengths.data(),
                               parameters.binary.data(),
                               binary_result ? 1 : 0) == 1) {
    result = AwaitResult(conn, absl::Now() + timeout, &timed_out);
  }
  if (timed_out) {
    return absl::UnavailableError(
        absl::StrCat(who, " ", what, ": PostgreSQL did not answer within ",
                     absl::FormatDuration(timeout)));
  }
  ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  absl::Status error = absl::UnavailableError(
      absl::StrCat(who, " ", what, ": ", PQerrorMessage(conn)));
  if (PQstatus(conn) == CONNECTION_BAD) Reset(conn, settings);
  return error;
}

absl::Status InTransaction(PGconn* conn, const char* settings,
                           absl::string_view who, absl::Duration timeout,
                           absl::FunctionRef<absl::Status()> body) {
  auto exec = [&](const char* sql, absl::string_view what) {
    return ExecParams(conn, sql, {}, settings, who, what,
                      /*binary_result=*/false, timeout)
        .status();
  };
  absl::Status status = exec("BEGIN", "begin");
  if (!status.ok()) return status;
  status = body();
  if (status.ok()) status = exec("COMMIT", "commit");
  // (After a failed COMMIT the server has ended the transaction already;
  // a ROLLBACK then only draws a warning.)
  if (!status.ok()) exec("ROLLBACK", "rollback").IgnoreError();
  return status;
}

}  // namespace sluice::pq
