#include "services/ingress/genai_metrics.h"

#include <string>
#include <vector>

#include "libs/obs/metrics.h"

namespace sluice::ingress {
namespace {

// The conventions' advice: 1, 4, 16, ... 4^13 tokens.
const std::vector<double>& TokenBuckets() {
  static const std::vector<double>* const bounds = [] {
    auto* b = new std::vector<double>;
    for (double bound = 1; bound <= 67108864; bound *= 4) b->push_back(bound);
    return b;
  }();
  return *bounds;
}

// 0.01, 0.02, 0.04, ... 81.92 seconds.
const std::vector<double>& DurationBuckets() {
  static const std::vector<double>* const bounds = [] {
    auto* b = new std::vector<double>;
    for (double bound = 0.01; bound <= 82; bound *= 2) b->push_back(bound);
    return b;
  }();
  return *bounds;
}

}  // namespace

void RecordGenAiMetrics(const sluice::v1::UsageEvent& event) {
  if (event.provider().empty()) return;
  obs::MetricsRegistry& registry = obs::MetricsRegistry::Default();
  obs::Labels labels = {{"gen_ai_operation_name", "chat"},
                        {"gen_ai_provider_name", event.provider()},
                        {"gen_ai_request_model", event.model()},
                        {"gen_ai_response_model", event.upstream_model()}};
  const bool failed = event.status() >= 400;
  if (!failed) {
    for (const auto& [type, tokens] :
         {std::pair<const char*, int64_t>{"input",
                                          event.usage().prompt_tokens()},
          {"output", event.usage().completion_tokens()}}) {
      obs::Labels typed = labels;
      typed.emplace_back("gen_ai_token_type", type);
      registry
          .histogram("gen_ai_client_token_usage",
                     "Tokens per operation (OpenTelemetry "
                     "gen_ai.client.token.usage)",
                     TokenBuckets(), typed)
          .Observe(static_cast<double>(tokens));
    }
  }
  obs::Labels outcome = labels;
  if (failed) {
    outcome.emplace_back("error_type", event.error_type().empty()
                                           ? std::to_string(event.status())
                                           : event.error_type());
  }
  registry
      .histogram("gen_ai_client_operation_duration_seconds",
                 "Duration of operations (OpenTelemetry "
                 "gen_ai.client.operation.duration)",
                 DurationBuckets(), outcome)
      .Observe(static_cast<double>(event.latency_ms()) / 1000.0);
  if (event.stream() && !failed && event.time_to_first_token_ms() > 0) {
    registry
        .histogram("gen_ai_client_operation_time_to_first_chunk_seconds",
                   "Time to a stream's first chunk (OpenTelemetry "
                   "gen_ai.client.operation.time_to_first_chunk)",
                   DurationBuckets(), labels)
        .Observe(static_cast<double>(event.time_to_first_token_ms()) / 1000.0);
  }
}

}  // namespace sluice::ingress
