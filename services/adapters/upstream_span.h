// The span of one upstream call, in OpenTelemetry's GenAI client terms:
// "chat <model>", kind client, gen_ai.* attributes and the usage the
// provider reported.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"
#include "libs/trace/active_span.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::adapters {

trace::ActiveSpan StartUpstreamSpan(const host::CallContext& context,
                                    const sluice::v1::AdapterRequest& request);

// Ends it: `usage` (may be null) and the answer's model when known.
void EndUpstreamSpan(trace::ActiveSpan& span, const absl::Status& status,
                     const sluice::v1::Usage* usage,
                     absl::string_view response_model);

}  // namespace sluice::adapters
