// What the router does about a failed upstream attempt: retry the same
// candidate, fall back to the next, or give the error to the client; and
// whether the failure counts against the candidate's circuit breaker.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace sluice::router {

struct FailureClass {
  // Short name for reasons and metrics: rate_limited, server_error, timeout,
  // connection, provider_auth, provider_quota, context_length, unsupported,
  // bad_request, cancelled.
  std::string kind;
  // Worth another attempt (same candidate after a wait, or another one).
  bool retryable = false;
  // Another candidate may serve it although this one cannot (e.g. our
  // credentials for this provider are wrong, its context is too small).
  bool fall_back = false;
  // Counts toward the circuit breaker.
  bool breaker_failure = false;
  // The provider's Retry-After, for 429s that gave one.
  std::optional<absl::Duration> retry_after;
};

FailureClass ClassifyFailure(const absl::Status& status);

// Whether the caller's own deadline has passed at `now`: an attempt that
// then fails with DEADLINE_EXCEEDED ran out of the caller's time, which
// says nothing about the candidate (it must not count against its health).
bool CallerDeadlinePassed(absl::Time caller_deadline, absl::Time now);

}  // namespace sluice::router
