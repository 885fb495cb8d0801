// How a usage report is read from the stored rollups: which bucket width,
// which range of buckets, what the rows are grouped by and filtered on,
// and the SQL that sums them (shared by the SQLite and PostgreSQL stores).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

struct ReportPlan {
  // Seconds per stored bucket read (kMinute, kHour or kDay).
  int64_t granularity = 0;
  // One row per bucket and group (else one per group over the range).
  bool per_bucket = false;
  // Buckets starting in [from, to).
  int64_t from = 0;
  int64_t to = 0;
  // Stored columns grouped by, among tenant, key_id, model, provider.
  std::vector<std::string> group_columns;
  // Equality filters: (column, value).
  std::vector<std::pair<std::string, std::string>> filters;
};

// INVALID_ARGUMENT for an unknown group_by name or an end before the start.
// Without a granularity, the widest stored bucket that both ends of the
// range fall on is read, so whole days come from day rows.
absl::StatusOr<ReportPlan> PlanReport(const sluice::v1::ReportQuery& query,
                                      absl::Time now);

// SELECT [bucket,] the group columns, then the sums of RollupColumns(), from
// the rollup table `table`; its parameters are granularity, from, to, then
// each filter's value, spelled by `placeholder` (1-based: "?" for SQLite,
// "$1" for PostgreSQL).
std::string ReportSql(const ReportPlan& plan, const std::string& table,
                      const std::function<std::string(int)>& placeholder);

// Sets `row`'s dimension named by a stored column (tenant, key_id, model,
// provider).
void SetDimension(const std::string& column, std::string value,
                  sluice::v1::ReportRow& row);

}  // namespace sluice::metering
