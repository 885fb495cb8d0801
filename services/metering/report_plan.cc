#include "services/metering/report_plan.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/metering/usage_rollup.h"

namespace sluice::metering {
namespace {

int64_t Seconds(const google::protobuf::Timestamp& time) {
  return time.seconds();
}

// group_by's names → stored columns.
absl::StatusOr<std::string> GroupColumn(const std::string& name) {
  if (name == "tenant") return std::string("tenant");
  if (name == "key" || name == "key_id") return std::string("key_id");
  if (name == "model") return std::string("model");
  if (name == "provider") return std::string("provider");
  return absl::InvalidArgumentError(
      absl::StrCat("group_by: unknown dimension \"", name,
                   "\" (expected tenant, key, model or provider)"));
}

}  // namespace

absl::StatusOr<ReportPlan> PlanReport(const sluice::v1::ReportQuery& query,
                                      absl::Time now) {
  ReportPlan plan;
  const int64_t start = query.has_start() ? Seconds(query.start()) : 0;
  const int64_t end =
      query.has_end() ? Seconds(query.end()) : absl::ToUnixSeconds(now) + 1;
  if (end < start) {
    return absl::InvalidArgumentError("the range ends before it starts");
  }
  switch (query.granularity()) {
    case sluice::v1::GRANULARITY_MINUTE:
      plan.granularity = kMinute;
      break;
    case sluice::v1::GRANULARITY_HOUR:
      plan.granularity = kHour;
      break;
    case sluice::v1::GRANULARITY_DAY:
      plan.granularity = kDay;
      break;
    default: {
      // Whole days from day rows, whole hours from hour rows; an open end
      // ("until now") falls on any of them.
      plan.granularity = kMinute;
      for (int64_t width : {kDay, kHour}) {
        if (start % width == 0 && (!query.has_end() || end % width == 0)) {
          plan.granularity = width;
          break;
        }
      }
      break;
    }
  }
  plan.per_bucket = query.granularity() != sluice::v1::GRANULARITY_UNSPECIFIED;
  plan.from = start - start % plan.granularity;
  plan.to = query.has_end() ? end : std::numeric_limits<int64_t>::max();
  std::vector<std::string> names(query.group_by().begin(),
                                 query.group_by().end());
  if (names.empty()) names = {"tenant", "model", "provider"};
  for (const std::string& name : names) {
    absl::StatusOr<std::string> column = GroupColumn(name);
    if (!column.ok()) return column.status();
    if (std::find(plan.group_columns.begin(), plan.group_columns.end(),
                  *column) == plan.group_columns.end()) {
      plan.group_columns.push_back(*column);
    }
  }
  for (const auto& [column, value] :
       {std::pair<std::string, std::string>{"tenant", query.tenant()},
        {"key_id", query.key_id()},
        {"model", query.model()},
        {"provider", query.provider()}}) {
    if (!value.empty()) plan.filters.emplace_back(column, value);
  }
  return plan;
}

std::string ReportSql(const ReportPlan& plan, const std::string& table,
                      const std::function<std::string(int)>& placeholder) {
  std::vector<std::string> selected;
  std::vector<std::string> grouped;
  if (plan.per_bucket) grouped.push_back("bucket");
  grouped.insert(grouped.end(), plan.group_columns.begin(),
                 plan.group_columns.end());
  selected = grouped;
  for (const std::string& column : RollupColumns()) {
    selected.push_back(absl::StrCat("SUM(", column, ")"));
  }
  std::string sql = absl::StrCat(
      "SELECT ", absl::StrJoin(selected, ", "), " FROM ", table,
      " WHERE granularity = ", placeholder(1),
      " AND bucket >= ", placeholder(2), " AND bucket < ", placeholder(3));
  int parameter = 4;
  for (const auto& filter : plan.filters) {
    absl::StrAppend(&sql, " AND ", filter.first, " = ",
                    placeholder(parameter++));
  }
  if (!grouped.empty()) {
    absl::StrAppend(&sql, " GROUP BY ", absl::StrJoin(grouped, ", "),
                    " ORDER BY ", absl::StrJoin(grouped, ", "));
  }
  return sql;
}

void SetDimension(const std::string& column, std::string value,
                  sluice::v1::ReportRow& row) {
  if (column == "tenant") {
    row.set_tenant(std::move(value));
  } else if (column == "key_id") {
    row.set_key_id(std::move(value));
  } else if (column == "model") {
    row.set_model(std::move(value));
  } else if (column == "provider") {
    row.set_provider(std::move(value));
  }
}

}  // namespace sluice::metering
