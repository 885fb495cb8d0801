#include "services/router/failure_class.h"

#include "absl/strings/match.h"
#include "libs/status/errors.h"

namespace sluice::router {

FailureClass ClassifyFailure(const absl::Status& status) {
  FailureClass failure;
  sluice::v1::Error error = status::ErrorFromStatus(status);
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
      if (error.code() == "insufficient_quota") {
        // The provider account is out of credit: others may still serve.
        failure.kind = "provider_quota";
        failure.fall_back = true;
        failure.breaker_failure = true;
        break;
      }
      failure.kind = "rate_limited";
      failure.retryable = failure.fall_back = true;
      if (std::optional<absl::Duration> after = status::RetryAfterOf(status);
          after.has_value() && *after > absl::ZeroDuration()) {
        failure.retry_after = after;
      }
      break;
    case absl::StatusCode::kUnavailable:
      // HttpClient reports broken connections as UNAVAILABLE without an
      // error payload; upstream 5xx answers carry one.
      failure.kind = error.type() == "upstream_error" ? "server_error"
                                                      : "connection";
      failure.retryable = failure.fall_back = failure.breaker_failure = true;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      failure.kind = "timeout";
      failure.retryable = failure.fall_back = failure.breaker_failure = true;
      break;
    case absl::StatusCode::kFailedPrecondition:
      // 401/403 from the provider: our credentials, not the client's fault.
      failure.kind = "provider_auth";
      failure.fall_back = failure.breaker_failure = true;
      break;
    case absl::StatusCode::kInvalidArgument:
      if (error.code() == "context_length_exceeded" ||
          absl::StrContains(error.message(), "maximum context length")) {
        failure.kind = "context_length";
        failure.fall_back = true;
      } else {
        failure.kind = "bad_request";
      }
      break;
    case absl::StatusCode::kUnimplemented:
      // No adapter for the provider, or the worker does not serve it yet.
      failure.kind = "unsupported";
      failure.fall_back = true;
      break;
    case absl::StatusCode::kCancelled:
      failure.kind = "cancelled";
      break;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      // A malformed answer or a broken stream.
      failure.kind = "server_error";
      failure.retryable = failure.fall_back = failure.breaker_failure = true;
      break;
    default:
      failure.kind = "bad_request";
      break;
  }
  return failure;
}

bool CallerDeadlinePassed(absl::Time caller_deadline, absl::Time now) {
  return caller_deadline <= now;
}

}  // namespace sluice::router
