// UsageStore on PostgreSQL (metering.postgres_dsn): the same tables and
// guarantees as the SQLite store (events deduplicated by request id,
// totals, rollups and consumed offsets in one transaction), written with
// one multi-row statement per table per batch. One libpq connection,
// serialized by a mutex and reset when it breaks; only metering's consumer
// and report threads use it, never a request thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "services/metering/usage_store.h"

namespace sluice::metering {

// Connects (connect_timeout 5 s, statement_timeout 30 s) and creates the
// tables if needed.
absl::StatusOr<UsageStorePtr> OpenPostgresUsageStore(const std::string& dsn);

}  // namespace sluice::metering
