// OpenTelemetry's GenAI client metrics for each answered request, in
// Prometheus form (dots to underscores, seconds in the name):
//   gen_ai_client_token_usage{gen_ai_token_type=input|output}  histogram
//   gen_ai_client_operation_duration_seconds                  histogram
//   gen_ai_client_operation_time_to_first_chunk_seconds       histogram
// with gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model,
// gen_ai_response_model (and error_type on failed operations). Requests
// that no provider served (refused at the edge) are not operations: their
// client-chosen model names would make unbounded label values.
#pragma once

#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

void RecordGenAiMetrics(const sluice::v1::UsageEvent& event);

}  // namespace sluice::ingress
