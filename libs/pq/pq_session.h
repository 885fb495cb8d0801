// What every libpq-backed store does around a connection: connect with a
// connect timeout and session settings, run parameterised statements, and
// reset a broken connection (settings applied again) for the next call;
// transactions around statements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/pq/pq_handles.h"

namespace sluice::pq {

// Statement parameters: text, or binary where Bytes() added them.
struct Parameters {
  std::vector<std::string> values;
  std::vector<int> binary;

  void Text(std::string value) {
    values.push_back(std::move(value));
    binary.push_back(0);
  }
  void Int(int64_t value) { Text(std::to_string(value)); }
  void Bytes(std::string value) {
    values.push_back(std::move(value));
    binary.push_back(1);
  }
};

// Connects to `dsn` (key=value or URI; connect_timeout 5 s), silences
// server notices and runs `settings` (e.g. "SET statement_timeout = 30000").
// UNAVAILABLE "`who`: cannot connect to PostgreSQL: ..." otherwise.
absl::StatusOr<Conn> Connect(const std::string& dsn, const char* settings,
                             absl::string_view who);

// Runs `sql`; UNAVAILABLE "`who` `what`: <libpq's message>" on failure,
// after which a broken connection is reset and given `settings` again.
// `timeout` bounds the wait for the answer on our side: a server that stopped
// answering (paused, or cut off by the network) never enforces its own
// statement_timeout. A statement given up on leaves the connection to be
// reset (bounded by the connect timeout) when it is next used.
absl::StatusOr<Result> ExecParams(
    PGconn* conn, const std::string& sql, const Parameters& parameters,
    const char* settings, absl::string_view who, absl::string_view what,
    bool binary_result = false,
    absl::Duration timeout = absl::InfiniteDuration());

// Runs `body` (statements on `conn`) between BEGIN and COMMIT; ROLLBACK when
// `body` or COMMIT fails, and its error is returned. BEGIN, COMMIT and
// ROLLBACK are ExecParams calls with `settings`, `who` and `timeout`.
absl::Status InTransaction(PGconn* conn, const char* settings,
                           absl::string_view who, absl::Duration timeout,
                           absl::FunctionRef<absl::Status()> body);

}  // namespace sluice::pq
