#include "tests/services/ingress/jobs_test_database.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "services/ingress/job_store_setup.h"

namespace sluice::ingress {

absl::StatusOr<std::unique_ptr<JobsTestDatabase>> JobsTestDatabase::Make(
    const std::string& backend) {
  std::unique_ptr<JobsTestDatabase> db(new JobsTestDatabase());
  if (backend == "postgres") {
    absl::StatusOr<std::unique_ptr<testing::PostgresSchema>> schema =
        testing::PostgresSchema::Create("jobs_test");
    if (!schema.ok()) return schema.status();
    db->schema_ = *std::move(schema);
    db->config_.mutable_jobs()->set_postgres_dsn(db->schema_->dsn());
    return db;
  }
  std::string pattern =
      (std::filesystem::temp_directory_path() / "sluice-jobs-test-XXXXXX")
          .string();
  if (mkdtemp(pattern.data()) == nullptr)
    return absl::InternalError("mkdtemp failed");
  db->dir_ = pattern;
  db->config_.mutable_jobs()->set_sqlite_path(
      absl::StrCat(pattern, "/jobs.db"));
  return db;
}

JobsTestDatabase::~JobsTestDatabase() {
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

absl::StatusOr<JobStorePtr> JobsTestDatabase::OpenJobStore() const {
  return OpenConfiguredJobStore(config_);
}

absl::StatusOr<BatchStorePtr> JobsTestDatabase::OpenBatchStore() const {
  return OpenConfiguredBatchStore(config_);
}

}  // namespace sluice::ingress
