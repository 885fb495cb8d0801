// Collects what the usage event of one request needs and emits that event
// exactly once: on Finish(), or from the destructor if the request was
// abandoned (client gone) before it finished.
#pragma once

#include "absl/strings/string_view.h"
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "libs/http/server.h"
#include "libs/obs/trace_context.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/chat.pb.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

// HTTP status recorded when the client went away before the answer ended
// (nginx's convention).
inline constexpr int kClientClosedRequest = 499;

class RequestRecord {
 public:
  // The request gets a new id of sluice's (x-request-id); the client's own
  // id (see ClientRequestId), when not empty, is kept beside it and echoed
  // as x-client-request-id.
  RequestRecord(UsageReporter* reporter, std::string client_request_id,
                bool stream);
  ~RequestRecord();

  RequestRecord(const RequestRecord&) = delete;
  RequestRecord& operator=(const RequestRecord&) = delete;

  sluice::v1::UsageEvent& event() { return event_; }
  const std::string& request_id() const { return event_.request_id(); }
  const std::string& client_request_id() const {
    return event_.client_request_id();
  }

  // "provider/upstream_model", as adapters set it on answers.
  void SetRoute(absl::string_view route);
  // Takes the router's decision for the event and stamps the time spent in
  // sluice so far, less the decision's upstream time, as the event's
  // overhead; call when the answer (or a stream's head) goes out. Returns
  // it in milliseconds for x-sluice-overhead-ms.
  std::string SetDecision(const sluice::v1::RouteDecision& decision);
  // The request is admitted and about to be routed: its reporter may
  // journal it (so that a process dying before Finish still leaves one
  // usage record). At most once; before Finish.
  void Begin();
  // Settles the request: its hooks run (stream slot back, token
  // reservation settled) and its usage event goes out. Call it before the
  // answer is written, so that a client that has read the answer and comes
  // straight back finds all of that done.
  void Finish(int http_status, absl::string_view error_type = {});
  // The same for a request that failed with `status`; returns the error to
  // write (its HTTP status and type are the event's).
  sluice::v1::Error FinishFailed(const absl::Status& status);
  // The request's own span (`self`, under the client's `parent_span_id`,
  // hex, empty for none): recorded on Finish() when sampled.
  void SetTrace(const obs::TraceContext& self, std::string parent_span_id);

  // Headers every response of this request carries (x-request-id, the
  // x-ratelimit-* of its admission).
  http::Headers& headers() { return headers_; }
  // Each runs once, in Finish(), with the final event (settles
  // reservations, gives back stream slots).
  void OnFinish(std::function<void(const sluice::v1::UsageEvent&)> hook) {
    on_finish_.push_back(std::move(hook));
  }

 private:
  UsageReporter* reporter_;
  // Records the request's span from the finished event.
  void RecordSpan(absl::Time end) const;

  absl::Time start_;
  sluice::v1::UsageEvent event_;
  std::optional<obs::TraceContext> trace_;
  std::string parent_span_id_;
  http::Headers headers_;
  std::vector<std::function<void(const sluice::v1::UsageEvent&)>> on_finish_;
  bool finished_ = false;
  std::shared_ptr<void> begun_;  // what the reporter's Begin returned
};

using RequestRecordPtr = std::shared_ptr<RequestRecord>;

}  // namespace sluice::ingress
