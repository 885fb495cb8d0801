// Work that can wait (a Kafka job, a batch line) run through the edge as an
// ordinary request, marked as batch work, until it has an answer worth
// keeping. A try that failed retryably (5xx, this gateway stopping) is
// tried again after a backoff, up to max_attempts; a try refused by a rate
// limit (429 with Retry-After: the key's or tenant's limits, the provider's
// queue) is not a failure: the work waits and tries again. Everything else
// (200, 4xx, insufficient_quota) is the answer. Each try is one metered
// request.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

struct JobTry {
  // In: the request body (JSON) and who sends it: the key as presented
  // (`authorization`) or, for work run later under a stored key, its hash.
  std::string body;
  std::string authorization;
  std::string key_sha256;
  absl::Time deadline = absl::InfiniteFuture();

  // Out, after JobTries::Run: the last try's answer (any HTTP status)...
  int attempts = 0;
  int status_code = 0;
  std::string request_id;
  std::string answer_json;
  // ...its usage and route for a 200...
  sluice::v1::Usage usage;
  std::string route;  // "provider/model"
  int64_t price_micro_usd = 0;
  // ...or, when every try failed retryably, why (no answer to keep).
  std::string exhausted;

  // Between tries.
  int failures = 0;  // retryable failures, counted against max_attempts
  bool retryable = false;
  std::optional<absl::Duration> wait_for;  // a limit's Retry-After
};

class JobTries {
 public:
  // `edge` and `usage` outlive this.
  JobTries(ChatEdge* edge, UsageReporter* usage, int max_attempts,
           absl::Duration backoff)
      : edge_(edge), usage_(usage), max_attempts_(max_attempts), backoff_(backoff) {}

  // Tries every job until each has an answer or has used its tries (then
  // `exhausted` says why). False when `stopping` turned true first: the
  // jobs without an outcome should be left for a later run.
  bool Run(const std::vector<JobTry*>& jobs, const std::atomic<bool>& stopping) const;

 private:
  // One try of each job, returning when all have answered.
  void TryAll(const std::vector<JobTry*>& jobs) const;

  ChatEdge* const edge_;
  UsageReporter* const usage_;
  const int max_attempts_;
  const absl::Duration backoff_;
};

}  // namespace sluice::ingress
