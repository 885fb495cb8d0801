// Opens the stores the config's `jobs` names for async jobs' results and the
// Batch API: PostgreSQL (jobs.postgres_dsn, shared by every ingress
// replica), or a SQLite file of this replica's (jobs.sqlite_path, by
// default sluice-jobs.db beside the metering database).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "services/ingress/batch_store.h"
#include "services/ingress/job_store.h"
#include "sluice/v1/config.pb.h"

namespace sluice::ingress {

// The SQLite file both stores use without jobs.postgres_dsn.
std::string JobsSqlitePath(const sluice::v1::Config& config);

absl::StatusOr<JobStorePtr> OpenConfiguredJobStore(
    const sluice::v1::Config& config);
absl::StatusOr<BatchStorePtr> OpenConfiguredBatchStore(
    const sluice::v1::Config& config);

}  // namespace sluice::ingress
