// Usage aggregates per tenant × key × model × provider × time bucket
// (minute, hour, day): counts, tokens by kind, money, and latency
// histograms with fixed, mergeable buckets (a report sums rows and reads
// percentiles from the summed buckets). Pure logic; the stores persist the
// rows.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::metering {

// Upper bounds (inclusive, milliseconds) of the latency buckets; one more
// bucket holds everything above the last.
inline constexpr std::array<int64_t, 14> kLatencyBoundsMs = {
    10,   25,   50,    100,   250,   500,    1000,
    2500, 5000, 10000, 30000, 60000, 120000, 300000};
inline constexpr int kLatencyBuckets = kLatencyBoundsMs.size() + 1;
using LatencyCounts = std::array<int64_t, kLatencyBuckets>;

// The bucket `ms` falls in.
int LatencyBucket(int64_t ms);
// The q-quantile (0 < q <= 1) of a histogram, interpolated linearly within
// its bucket (the open last bucket answers its lower bound); 0 when empty.
int64_t QuantileMs(const LatencyCounts& counts, double q);

// Bucket widths kept, in seconds.
inline constexpr int64_t kMinute = 60;
inline constexpr int64_t kHour = 3600;
inline constexpr int64_t kDay = 86400;
inline constexpr std::array<int64_t, 3> kRollupGranularities = {kMinute, kHour,
                                                                kDay};

struct RollupKey {
  int64_t granularity = 0;  // seconds
  int64_t bucket = 0;       // Unix seconds of the bucket's start
  std::string tenant;
  std::string key_id;
  std::string model;
  std::string provider;
};

// A RollupKey's fields without owning them, to find a row without copying
// an event's strings.
struct RollupKeyView {
  int64_t granularity = 0;
  int64_t bucket = 0;
  absl::string_view tenant;
  absl::string_view key_id;
  absl::string_view model;
  absl::string_view provider;
};

// Transparent hash and equality over RollupKey and RollupKeyView.
struct RollupKeyHash {
  using is_transparent = void;
  template <typename Key>
  size_t operator()(const Key& key) const {
    return absl::Hash<
        std::tuple<int64_t, int64_t, absl::string_view, absl::string_view,
                   absl::string_view, absl::string_view>>()(
        {key.granularity, key.bucket, key.tenant, key.key_id, key.model,
         key.provider});
  }
};
struct RollupKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.granularity == b.granularity && a.bucket == b.bucket &&
           absl::string_view(a.tenant) == b.tenant &&
           absl::string_view(a.key_id) == b.key_id &&
           absl::string_view(a.model) == b.model &&
           absl::string_view(a.provider) == b.provider;
  }
};

struct RollupRow {
  int64_t requests = 0;
  // Every status >= 400, and apart: 429, other 4xx but 499, 5xx, 499 (the
  // client went away).
  int64_t errors = 0;
  int64_t rate_limited = 0;
  int64_t client_errors = 0;
  int64_t server_errors = 0;
  int64_t cancelled = 0;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t price_micro_usd = 0;
  int64_t upstream_cost_micro_usd = 0;
  // Answers from the cache or a shared flight.
  int64_t cache_hits = 0;
  // Answers from a fallback candidate; what the cache and cheaper price
  // windows saved (RouteDecision's figures).
  int64_t fallbacks = 0;
  int64_t cache_saved_micro_usd = 0;
  int64_t off_peak_saved_micro_usd = 0;
  // Of successful requests: total latency and time to the first token.
  LatencyCounts latency{};
  LatencyCounts ttft{};

  void Add(const sluice::v1::UsageEvent& event);
  void Merge(const RollupRow& other);

  // The figures in the order of RollupColumns(), and back.
  std::vector<int64_t> Values() const;
  static RollupRow FromValues(const int64_t* values);
  // The figures of a report row (percentiles from the histograms).
  void FillReportRow(sluice::v1::ReportRow& row) const;
};

// Column names of a stored rollup row's figures: the counters, then
// lat_0.. and ttft_0.. for the histogram buckets.
const std::vector<std::string>& RollupColumns();
// Those of RollupColumns() added after the first schema: stores add them to
// tables created before.
inline constexpr const char* kRollupColumnsAddedLater[] = {
    "fallbacks", "cache_saved_micro_usd", "off_peak_saved_micro_usd"};

using Rollups =
    absl::flat_hash_map<RollupKey, RollupRow, RollupKeyHash, RollupKeyEq>;

// Columns of the running totals per tenant and model, in the order of
// TotalSums::values.
inline constexpr const char* kTotalColumns[] = {
    "requests",          "errors",          "prompt_tokens",
    "completion_tokens", "cached_tokens",   "reasoning_tokens",
    "total_tokens",      "price_micro_usd", "upstream_cost_micro_usd"};

// A batch's additions to one (tenant, model) running total.
struct TotalSums {
  std::array<int64_t, std::size(kTotalColumns)> values{};

  void Add(const sluice::v1::UsageEvent& event);
};

// Sorted, so that stores update rows in one order (no deadlocks between
// metering replicas).
using BatchTotals = std::map<std::pair<std::string, std::string>, TotalSums>;

// A batch's rollup rows: each event is summed into its minute row (found
// without copying its strings once the row exists), and the hour and day
// rows are derived from the minute rows at the end.
class RollupBatch {
 public:
  // Adds the event to its minute row (by the event's time).
  void Add(const sluice::v1::UsageEvent& event);
  // The minute, hour and day rows of everything added.
  Rollups Rows() const;

 private:
  Rollups minutes_;
};

}  // namespace sluice::metering
