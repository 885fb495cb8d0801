// A schema of its own on the PostgreSQL server that SLUICE_TEST_POSTGRES
// names (a libpq DSN; ./dev test starts a server and sets it), dropped when
// destroyed: tests that run at once on one server never meet.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::testing {

class PostgresSchema {
 public:
  // A new schema named `prefix`, this process's id and a count.
  // FAILED_PRECONDITION when SLUICE_TEST_POSTGRES is unset (callers fail,
  // never skip: a run must not pass without its PostgreSQL half);
  // UNAVAILABLE when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<PostgresSchema>> Create(
      absl::string_view prefix);
  ~PostgresSchema();

  // SLUICE_TEST_POSTGRES with this schema as the search_path: what a store
  // under test connects to.
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  PostgresSchema(PGconn* admin, std::string name, std::string dsn)
      : admin_(admin), name_(std::move(name)), dsn_(std::move(dsn)) {}
  absl::Status Exec(const std::string& sql);

  PGconn* const admin_;
  const std::string name_;
  const std::string dsn_;
};

}  // namespace sluice::testing
