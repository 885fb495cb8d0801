#include "services/worker/worker_metrics.h"

#include <vector>

namespace sluice::worker {
namespace {

std::vector<double> LatencyBounds() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
          0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0};
}

}  // namespace

WorkerMetrics::WorkerMetrics(obs::MetricsRegistry& r,
                             const std::string& model_name)
    : requests_running(r.gauge("sluice_worker_num_requests_running",
                               "Requests in the decode batch.",
                               {{"model_name", model_name}})),
      requests_waiting(r.gauge("sluice_worker_num_requests_waiting",
                               "Requests waiting for a slot.",
                               {{"model_name", model_name}})),
      kv_cache_usage(r.gauge("sluice_worker_kv_cache_usage_perc",
                             "KV cache usage (1 means full).",
                             {{"model_name", model_name}})),
      prefix_cache_queries(r.counter(
          "sluice_worker_prefix_cache_queries_total",
          "Prompt tokens looked up in the prefix cache.",
          {{"model_name", model_name}})),
      prefix_cache_hits(r.counter("sluice_worker_prefix_cache_hits_total",
                                  "Prompt tokens found in the prefix cache.",
                                  {{"model_name", model_name}})),
      prompt_tokens(r.counter("sluice_worker_prompt_tokens_total",
                              "Prompt tokens processed.",
                              {{"model_name", model_name}})),
      generation_tokens(r.counter("sluice_worker_generation_tokens_total",
                                  "Tokens generated.",
                                  {{"model_name", model_name}})),
      preemptions(r.counter("sluice_worker_num_preemptions_total",
                            "Batch requests preempted by interactive ones.",
                            {{"model_name", model_name}})),
      requests_stop(r.counter("sluice_worker_request_success_total",
                              "Requests finished.",
                              {{"model_name", model_name},
                               {"finished_reason", "stop"}})),
      requests_length(r.counter("sluice_worker_request_success_total",
                                "Requests finished.",
                                {{"model_name", model_name},
                                 {"finished_reason", "length"}})),
      requests_abort(r.counter("sluice_worker_request_success_total",
                               "Requests finished.",
                               {{"model_name", model_name},
                                {"finished_reason", "abort"}})),
      time_to_first_token(r.histogram(
          "sluice_worker_time_to_first_token_seconds",
          "Time to the first token.", LatencyBounds(),
          {{"model_name", model_name}})),
      inter_token_latency(r.histogram(
          "sluice_worker_inter_token_latency_seconds",
          "Time between two tokens of a request.", LatencyBounds(),
          {{"model_name", model_name}})),
      e2e_latency(r.histogram("sluice_worker_e2e_request_latency_seconds",
                              "Time from arrival to the last token.",
                              LatencyBounds(), {{"model_name", model_name}})),
      queue_time(r.histogram("sluice_worker_request_queue_time_seconds",
                             "Time waiting for a slot.", LatencyBounds(),
                             {{"model_name", model_name}})) {}

}  // namespace sluice::worker
