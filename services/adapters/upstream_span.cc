#include "services/adapters/upstream_span.h"

#include "absl/strings/str_cat.h"

namespace sluice::adapters {

trace::ActiveSpan StartUpstreamSpan(const host::CallContext& context,
                                    const sluice::v1::AdapterRequest& request) {
  trace::ActiveSpan span = trace::ActiveSpan::Start(
      absl::StrCat("chat ", request.upstream_model()), trace::SpanKind::kClient,
      context.traceparent(), context.request_id());
  span.SetString("gen_ai.operation.name", "chat")
      .SetString("gen_ai.provider.name", request.provider())
      .SetString("gen_ai.request.model", request.upstream_model())
      .SetBool("sluice.stream", request.request().stream());
  return span;
}

void EndUpstreamSpan(trace::ActiveSpan& span, const absl::Status& status,
                     const sluice::v1::Usage* usage,
                     absl::string_view response_model) {
  if (!span.recording()) return;
  if (!response_model.empty()) {
    span.SetString("gen_ai.response.model", response_model);
  }
  if (usage != nullptr) {
    span.SetInt("gen_ai.usage.input_tokens", usage->prompt_tokens())
        .SetInt("gen_ai.usage.output_tokens", usage->completion_tokens());
    if (usage->cached_tokens() > 0) {
      span.SetInt("gen_ai.usage.cache_read.input_tokens",
                  usage->cached_tokens());
    }
    if (usage->reasoning_tokens() > 0) {
      span.SetInt("gen_ai.usage.reasoning.output_tokens",
                  usage->reasoning_tokens());
    }
  }
  if (status.ok()) {
    span.SetOk();
  } else {
    span.SetError(absl::StatusCodeToString(status.code()), status.message());
  }
  span.End();
}

}  // namespace sluice::adapters
