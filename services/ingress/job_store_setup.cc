#include "services/ingress/job_store_setup.h"

#include "services/ingress/key_store_setup.h"

namespace sluice::ingress {

std::string JobsSqlitePath(const sluice::v1::Config& config) {
  return config.jobs().sqlite_path().empty()
             ? BesideMetering(config, "sluice-jobs.db")
             : config.jobs().sqlite_path();
}

absl::StatusOr<JobStorePtr> OpenConfiguredJobStore(
    const sluice::v1::Config& config) {
  if (!config.jobs().postgres_dsn().empty()) {
    return OpenPostgresJobStore(config.jobs().postgres_dsn());
  }
  return OpenSqliteJobStore(JobsSqlitePath(config));
}

absl::StatusOr<BatchStorePtr> OpenConfiguredBatchStore(
    const sluice::v1::Config& config) {
  if (!config.jobs().postgres_dsn().empty()) {
    return OpenPostgresBatchStore(config.jobs().postgres_dsn());
  }
  return OpenSqliteBatchStore(JobsSqlitePath(config));
}

}  // namespace sluice::ingress
