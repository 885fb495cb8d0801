#include "services/metering/usage_rollup.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sluice::metering {

int LatencyBucket(int64_t ms) {
  auto it =
      std::lower_bound(kLatencyBoundsMs.begin(), kLatencyBoundsMs.end(), ms);
  return static_cast<int>(it - kLatencyBoundsMs.begin());
}

int64_t QuantileMs(const LatencyCounts& counts, double q) {
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  if (total == 0) return 0;
  // The rank of the quantile among the observations, 1-based.
  double rank = std::max(1.0, q * static_cast<double>(total));
  int64_t below = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    if (counts[i] == 0 || below + counts[i] < rank) {
      below += counts[i];
      continue;
    }
    int64_t lower = i == 0 ? 0 : kLatencyBoundsMs[i - 1];
    if (i == kLatencyBuckets - 1) return lower;
    int64_t upper = kLatencyBoundsMs[i];
    double within =
        (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    return lower + static_cast<int64_t>(
                       within * static_cast<double>(upper - lower) + 0.5);
  }
  return kLatencyBoundsMs.back();
}

void RollupRow::Add(const sluice::v1::UsageEvent& event) {
  ++requests;
  const int status = event.status();
  if (status >= 400) {
    ++errors;
    if (status == 429) {
      ++rate_limited;
    } else if (status == 499) {
      ++cancelled;
    } else if (status < 500) {
      ++client_errors;
    } else {
      ++server_errors;
    }
  }
  const sluice::v1::Usage& usage = event.usage();
  prompt_tokens += usage.prompt_tokens();
  cached_tokens += usage.cached_tokens();
  completion_tokens += usage.completion_tokens();
  reasoning_tokens += usage.reasoning_tokens();
  price_micro_usd += event.decision().price_micro_usd();
  upstream_cost_micro_usd += event.decision().upstream_cost_micro_usd();
  const std::string& cache = event.decision().cache();
  if (cache == "hit" || cache == "shared") ++cache_hits;
  if (event.decision().fell_back()) ++fallbacks;
  cache_saved_micro_usd += event.decision().cache_saved_micro_usd();
  off_peak_saved_micro_usd += event.decision().off_peak_saved_micro_usd();
  if (status >= 200 && status < 300) {
    ++latency[LatencyBucket(event.latency_ms())];
    int64_t first = event.time_to_first_token_ms() > 0
                        ? event.time_to_first_token_ms()
                        : event.latency_ms();
    ++ttft[LatencyBucket(first)];
  }
}

void RollupRow::Merge(const RollupRow& other) {
  requests += other.requests;
  errors += other.errors;
  rate_limited += other.rate_limited;
  client_errors += other.client_errors;
  server_errors += other.server_errors;
  cancelled += other.cancelled;
  prompt_tokens += other.prompt_tokens;
  cached_tokens += other.cached_tokens;
  completion_tokens += other.completion_tokens;
  reasoning_tokens += other.reasoning_tokens;
  price_micro_usd += other.price_micro_usd;
  upstream_cost_micro_usd += other.upstream_cost_micro_usd;
  cache_hits += other.cache_hits;
  fallbacks += other.fallbacks;
  cache_saved_micro_usd += other.cache_saved_micro_usd;
  off_peak_saved_micro_usd += other.off_peak_saved_micro_usd;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    latency[i] += other.latency[i];
    ttft[i] += other.ttft[i];
  }
}

const std::vector<std::string>& RollupColumns() {
  static const std::vector<std::string>* const columns = [] {
    auto* names = new std::vector<std::string>{
        "requests",         "errors",          "rate_limited",
        "client_errors",    "server_errors",   "cancelled",
        "prompt_tokens",    "cached_tokens",   "completion_tokens",
        "reasoning_tokens", "price_micro_usd", "upstream_cost_micro_usd",
        "cache_hits",       "fallbacks",       "cache_saved_micro_usd",
        "off_peak_saved_micro_usd"};
    for (int i = 0; i < kLatencyBuckets; ++i) {
      names->push_back("lat_" + std::to_string(i));
    }
    for (int i = 0; i < kLatencyBuckets; ++i) {
      names->push_back("ttft_" + std::to_string(i));
    }
    return names;
  }();
  return *columns;
}

std::vector<int64_t> RollupRow::Values() const {
  std::vector<int64_t> values = {
      requests,         errors,          rate_limited,
      client_errors,    server_errors,   cancelled,
      prompt_tokens,    cached_tokens,   completion_tokens,
      reasoning_tokens, price_micro_usd, upstream_cost_micro_usd,
      cache_hits,       fallbacks,       cache_saved_micro_usd,
      off_peak_saved_micro_usd};
  values.insert(values.end(), latency.begin(), latency.end());
  values.insert(values.end(), ttft.begin(), ttft.end());
  return values;
}

RollupRow RollupRow::FromValues(const int64_t* values) {
  RollupRow row;
  for (int64_t* field :
       {&row.requests, &row.errors, &row.rate_limited, &row.client_errors,
        &row.server_errors, &row.cancelled, &row.prompt_tokens,
        &row.cached_tokens, &row.completion_tokens, &row.reasoning_tokens,
        &row.price_micro_usd, &row.upstream_cost_micro_usd, &row.cache_hits,
        &row.fallbacks, &row.cache_saved_micro_usd,
        &row.off_peak_saved_micro_usd}) {
    *field = *values++;
  }
  for (int64_t& count : row.latency) count = *values++;
  for (int64_t& count : row.ttft) count = *values++;
  return row;
}

void RollupRow::FillReportRow(sluice::v1::ReportRow& row) const {
  row.set_requests(requests);
  row.set_errors(errors);
  row.set_rate_limited(rate_limited);
  row.set_client_errors(client_errors);
  row.set_server_errors(server_errors);
  row.set_cancelled(cancelled);
  row.set_prompt_tokens(prompt_tokens);
  row.set_cached_tokens(cached_tokens);
  row.set_completion_tokens(completion_tokens);
  row.set_reasoning_tokens(reasoning_tokens);
  row.set_price_micro_usd(price_micro_usd);
  row.set_upstream_cost_micro_usd(upstream_cost_micro_usd);
  row.set_cache_hits(cache_hits);
  row.set_fallbacks(fallbacks);
  row.set_cache_saved_micro_usd(cache_saved_micro_usd);
  row.set_off_peak_saved_micro_usd(off_peak_saved_micro_usd);
  auto summarize = [](const LatencyCounts& counts,
                      sluice::v1::LatencySummary& summary) {
    summary.set_p50_ms(QuantileMs(counts, 0.50));
    summary.set_p95_ms(QuantileMs(counts, 0.95));
    summary.set_p99_ms(QuantileMs(counts, 0.99));
  };
  summarize(latency, *row.mutable_latency());
  summarize(ttft, *row.mutable_time_to_first_token());
}

void TotalSums::Add(const sluice::v1::UsageEvent& event) {
  const sluice::v1::Usage& usage = event.usage();
  const int64_t added[] = {1,
                           event.status() >= 400 ? 1 : 0,
                           usage.prompt_tokens(),
                           usage.completion_tokens(),
                           usage.cached_tokens(),
                           usage.reasoning_tokens(),
                           usage.total_tokens(),
                           event.decision().price_micro_usd(),
                           event.decision().upstream_cost_micro_usd()};
  for (size_t i = 0; i < values.size(); ++i) values[i] += added[i];
}

void RollupBatch::Add(const sluice::v1::UsageEvent& event) {
  const int64_t seconds = event.time().seconds();
  RollupKeyView view{kMinute,        seconds - seconds % kMinute,
                     event.tenant(), event.key_id(),
                     event.model(),  event.provider()};
  auto row = minutes_.find(view);
  if (row == minutes_.end()) {
    row =
        minutes_
            .emplace(RollupKey{view.granularity, view.bucket, event.tenant(),
                               event.key_id(), event.model(), event.provider()},
                     RollupRow{})
            .first;
  }
  row->second.Add(event);
}

Rollups RollupBatch::Rows() const {
  Rollups rows = minutes_;
  for (const auto& [minute, sums] : minutes_) {
    for (int64_t granularity : {kHour, kDay}) {
      RollupKey key = minute;
      key.granularity = granularity;
      key.bucket = minute.bucket - minute.bucket % granularity;
      rows[std::move(key)].Merge(sums);
    }
  }
  return rows;
}

}  // namespace sluice::metering
