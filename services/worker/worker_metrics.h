// The worker's metrics, named as vLLM names them (prefix sluice_worker_,
// label model_name), so that dashboards built for vLLM read them.
#pragma once

#include <string>

#include "libs/obs/metrics.h"

namespace sluice::worker {

struct WorkerMetrics {
  WorkerMetrics(obs::MetricsRegistry& registry, const std::string& model_name);

  obs::Gauge& requests_running;
  obs::Gauge& requests_waiting;
  obs::Gauge& kv_cache_usage;  // 0..1
  obs::Counter& prefix_cache_queries;  // prompt tokens looked up
  obs::Counter& prefix_cache_hits;     // of those, found in a slot's cache
  obs::Counter& prompt_tokens;
  obs::Counter& generation_tokens;
  obs::Counter& preemptions;
  obs::Counter& requests_stop;
  obs::Counter& requests_length;
  obs::Counter& requests_abort;
  obs::Histogram& time_to_first_token;
  obs::Histogram& inter_token_latency;
  obs::Histogram& e2e_latency;
  obs::Histogram& queue_time;
};

}  // namespace sluice::worker
