#include "services/ingress/request_record.h"

#include <string>

#include "absl/strings/str_split.h"
#include "libs/obs/logging.h"
#include "libs/obs/metrics.h"

namespace sluice::ingress {

RequestRecord::RequestRecord(UsageReporter* reporter, std::string request_id,
                             bool stream)
    : reporter_(reporter), start_(absl::Now()) {
  event_.set_request_id(std::move(request_id));
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
    usage->set_total_tokens(usage->prompt_tokens() + usage->completion_tokens());
  }
  reporter_->Report(event_);
  // The access log: ids and outcome only, never keys or message content.
  std::string status_text = std::to_string(http_status);
  std::string latency = std::to_string(event_.latency_ms());
  obs::Log(spdlog::level::info, {event_.request_id(), event_.trace_id()},
           "request", {{"tenant", event_.tenant()},
                       {"model", event_.model()},
                       {"provider", event_.provider()},
                       {"status", status_text},
                       {"error_type", event_.error_type()},
                       {"latency_ms", latency}});
  obs::MetricsRegistry& metrics = obs::MetricsRegistry::Default();
  metrics
      .counter("sluice_requests_total", "Chat requests answered by ingress",
               {{"status", std::to_string(http_status)},
                {"stream", event_.stream() ? "true" : "false"}})
      .Increment();
  metrics
      .histogram("sluice_request_duration_seconds",
                 "Time from request to the end of the answer",
                 obs::DefaultLatencyBucketsSeconds(),
                 {{"stream", event_.stream() ? "true" : "false"}})
      .Observe(absl::ToDoubleSeconds(now - start_));
  if (http_status == 200) {
    metrics.counter("sluice_tokens_total", "Tokens served", {{"kind", "prompt"}})
        .Increment(static_cast<double>(usage->prompt_tokens()));
    metrics.counter("sluice_tokens_total", "Tokens served", {{"kind", "completion"}})
        .Increment(static_cast<double>(usage->completion_tokens()));
  }
}

}  // namespace sluice::ingress
