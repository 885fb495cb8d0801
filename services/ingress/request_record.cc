#include "services/ingress/request_record.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "libs/obs/logging.h"
#include "libs/obs/metrics.h"
#include "libs/obs/trace_context.h"
#include "libs/status/errors.h"
#include "libs/trace/active_span.h"
#include "services/ingress/genai_metrics.h"

namespace sluice::ingress {

namespace {

constexpr absl::string_view kChatOperation = "chat";

// The series whose labels are known up front, looked up once rather than on
// every request. (Requests by status are looked up per request: the status
// set is open.)
struct RequestMetrics {
  obs::Histogram* duration[2];  // by stream: false, true
  obs::Counter* prompt_tokens;
  obs::Counter* completion_tokens;

  static const RequestMetrics& Get() {
    static const RequestMetrics metrics = [] {
      obs::MetricsRegistry& registry = obs::MetricsRegistry::Default();
      RequestMetrics m;
      for (int stream = 0; stream < 2; ++stream) {
        m.duration[stream] =
            &registry.histogram("sluice_request_duration_seconds",
                                "Time from request to the end of the answer",
                                obs::DefaultLatencyBucketsSeconds(),
                                {{"stream", stream ? "true" : "false"}});
      }
      m.prompt_tokens = &registry.counter(
          "sluice_tokens_total", "Tokens served", {{"kind", "prompt"}});
      m.completion_tokens = &registry.counter(
          "sluice_tokens_total", "Tokens served", {{"kind", "completion"}});
      return m;
    }();
    return metrics;
  }
};

}  // namespace

RequestRecord::RequestRecord(UsageReporter* reporter,
                             std::string client_request_id, bool stream)
    : reporter_(reporter), start_(absl::Now()) {
  event_.set_request_id(obs::NewRequestId(obs::ThreadLocalRandom()));
  headers_.emplace_back("x-request-id", event_.request_id());
  if (!client_request_id.empty()) {
    headers_.emplace_back("x-client-request-id", client_request_id);
    event_.set_client_request_id(std::move(client_request_id));
  }
  event_.set_stream(stream);
}

RequestRecord::~RequestRecord() {
  if (!finished_) Finish(kClientClosedRequest, "client_closed_request");
}

void RequestRecord::SetRoute(absl::string_view route) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(route, absl::MaxSplits('/', 1));
  event_.set_provider(std::string(parts.first));
  event_.set_upstream_model(std::string(parts.second));
}

std::string RequestRecord::SetDecision(
    const sluice::v1::RouteDecision& decision) {
  *event_.mutable_decision() = decision;
  const absl::Duration elapsed = absl::Now() - start_;
  event_.set_time_to_first_token_ms(absl::ToInt64Milliseconds(elapsed));
  // Waiting in the scheduler's queue (a provider's limits) is not ours.
  absl::Duration overhead = elapsed -
                            absl::Microseconds(decision.upstream_us()) -
                            absl::Microseconds(decision.queue_us());
  overhead = std::max(overhead, absl::ZeroDuration());
  event_.set_overhead_us(absl::ToInt64Microseconds(overhead));
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(overhead));
}

void RequestRecord::SetTrace(const obs::TraceContext& self,
                             std::string parent_span_id) {
  trace_ = self;
  parent_span_id_ = std::move(parent_span_id);
}

void RequestRecord::RecordSpan(absl::Time end) const {
  const absl::string_view operation = event_.operation().empty()
                                          ? kChatOperation
                                          : absl::string_view(event_.operation());
  trace::ActiveSpan span = trace::ActiveSpan::StartAs(
      absl::StrCat(operation, " ", event_.model()), trace::SpanKind::kServer,
      *trace_, parent_span_id_, event_.request_id(), start_);
  if (!span.recording()) return;
  const sluice::v1::Usage& usage = event_.usage();
  span.SetString("gen_ai.operation.name", operation)
      .SetString("gen_ai.request.model", event_.model())
      .SetString("sluice.tenant", event_.tenant())
      .SetString("sluice.key_id", event_.key_id())
      .SetBool("sluice.stream", event_.stream())
      .SetInt("http.response.status_code", event_.status())
      .SetInt("sluice.overhead_us", event_.overhead_us());
  if (!event_.provider().empty()) {
    span.SetString("gen_ai.provider.name", event_.provider())
        .SetString("gen_ai.response.model", event_.upstream_model());
  }
  if (usage.prompt_tokens() > 0 || usage.completion_tokens() > 0) {
    span.SetInt("gen_ai.usage.input_tokens", usage.prompt_tokens())
        .SetInt("gen_ai.usage.output_tokens", usage.completion_tokens());
  }
  if (!event_.decision().cache().empty()) {
    span.SetString("sluice.cache", event_.decision().cache());
  }
  if (event_.decision().price_micro_usd() != 0) {
    span.SetInt("sluice.price_micro_usd", event_.decision().price_micro_usd());
  }
  if (event_.status() >= 400) {
    span.SetError(event_.error_type(),
                  absl::StrCat("answered HTTP ", event_.status()));
  } else {
    span.SetOk();
  }
  span.End(end);
}

void RequestRecord::Begin() {
  if (!finished_ && begun_ == nullptr) begun_ = reporter_->Begin(event_);
}

sluice::v1::Error RequestRecord::FinishFailed(const absl::Status& status) {
  sluice::v1::Error error = status::ErrorFromStatus(status);
  Finish(error.http_status(), error.type());
  return error;
}

void RequestRecord::Finish(int http_status, absl::string_view error_type) {
  if (finished_) return;
  finished_ = true;
  absl::Time now = absl::Now();
  event_.set_status(http_status);
  event_.set_error_type(std::string(error_type));
  event_.set_latency_ms(absl::ToInt64Milliseconds(now - start_));
  auto* time = event_.mutable_time();
  time->set_seconds(absl::ToUnixSeconds(now));
  time->set_nanos(static_cast<int32_t>(absl::ToUnixNanos(now) % 1000000000));
  sluice::v1::Usage* usage = event_.mutable_usage();
  if (usage->total_tokens() == 0) {
    usage->set_total_tokens(usage->prompt_tokens() +
                            usage->completion_tokens());
  }
  RecordGenAiMetrics(event_);
  if (trace_.has_value()) RecordSpan(now);
  reporter_->Report(event_, std::move(begun_));
  for (auto& hook : std::exchange(on_finish_, {})) hook(event_);
  // The access log: ids and outcome only, never keys or message content.
  std::string status_text = std::to_string(http_status);
  std::string latency = std::to_string(event_.latency_ms());
  obs::Log(spdlog::level::info, {event_.request_id(), event_.trace_id()},
           "request",
           {{"tenant", event_.tenant()},
            {"model", event_.model()},
            {"provider", event_.provider()},
            {"status", status_text},
            {"error_type", event_.error_type()},
            {"latency_ms", latency},
            {"client_request_id", event_.client_request_id()}});
  if (!event_.operation().empty() && event_.operation() != kChatOperation) {
    // Not a chat completion: counted apart, so chat figures stay chat's.
    obs::MetricsRegistry::Default()
        .counter("sluice_operations_total",
                 "Requests answered by ingress other than chat completions",
                 {{"operation", event_.operation()},
                  {"status", std::to_string(http_status)}})
        .Increment();
    return;
  }
  const RequestMetrics& metrics = RequestMetrics::Get();
  const int stream = event_.stream() ? 1 : 0;
  obs::MetricsRegistry::Default()
      .counter("sluice_requests_total", "Chat requests answered by ingress",
               {{"status", std::to_string(http_status)},
                {"stream", stream ? "true" : "false"}})
      .Increment();
  metrics.duration[stream]->Observe(absl::ToDoubleSeconds(now - start_));
  if (http_status == 200) {
    metrics.prompt_tokens->Increment(
        static_cast<double>(usage->prompt_tokens()));
    metrics.completion_tokens->Increment(
        static_cast<double>(usage->completion_tokens()));
  }
}

}  // namespace sluice::ingress
