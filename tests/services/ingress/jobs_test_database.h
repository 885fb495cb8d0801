// The databases the job and batch store tests run on, each test on a fresh
// one: a SQLite file in a temporary directory ("sqlite"), or a schema of its
// own on the PostgreSQL server of SLUICE_TEST_POSTGRES ("postgres"). Stores
// are opened the way ingress opens them (from a config's `jobs`); each Open
// is another connection, as another replica (or a restart) would have.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/ingress/batch_store.h"
#include "services/ingress/job_store.h"
#include "sluice/v1/config.pb.h"
#include "tests/support/postgres_schema.h"

namespace sluice::ingress {

class JobsTestDatabase {
 public:
  // `backend`: "sqlite" or "postgres".
  static absl::StatusOr<std::unique_ptr<JobsTestDatabase>> Make(
      const std::string& backend);
  ~JobsTestDatabase();

  absl::StatusOr<JobStorePtr> OpenJobStore() const;
  absl::StatusOr<BatchStorePtr> OpenBatchStore() const;

 private:
  JobsTestDatabase() = default;

  sluice::v1::Config config_;
  std::string dir_;                                  // sqlite
  std::unique_ptr<testing::PostgresSchema> schema_;  // postgres
};

}  // namespace sluice::ingress
