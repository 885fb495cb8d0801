// Usage aggregates per tenant × key × model × provider × time bucket
// (minute, hour, day): counts, tokens by kind, money, and latency
// histograms with fixed, mergeable buckets (a report sums rows and reads
// percentiles from the summed buckets). Pure logic; the stores persist the
// rows.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
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

  friend bool operator==(const RollupKey& a, const RollupKey& b) {
    return std::tie(a.granularity, a.bucket, a.tenant, a.key_id, a.model,
                    a.provider) == std::tie(b.granularity, b.bucket, b.tenant,
                                            b.key_id, b.model, b.provider);
  }
  template <typename H>
  friend H AbslHashValue(H h, const RollupKey& key) {
    return H::combine(std::move(h), key.granularity, key.bucket, key.tenant,
                      key.key_id, key.model, key.provider);
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

using Rollups = absl::flat_hash_map<RollupKey, RollupRow>;

// Adds the event to its minute, hour and day rows (by the event's time).
void AddToRollups(const sluice::v1::UsageEvent& event, Rollups& rollups);

}  // namespace sluice::metering
