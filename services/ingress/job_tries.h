// Work that can wait (a Kafka job, a batch line) run through the edge as an
// ordinary request, marked as batch work, until it has an answer worth
// keeping. A try that failed retryably (5xx, this gateway stopping) is
// tried again after a backoff, up to max_attempts; a try refused by a rate
// limit (429 with Retry-After: the key's or tenant's limits, the provider's
// queue) is not a failure: the work waits and tries again. Everything else
// (200, 4xx, insufficient_quota) is the answer. Each try is one metered
// request.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/host/clock.h"
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
  // No try starts after this; each try also ends by then.
  absl::Time deadline = absl::InfiniteFuture();
  // Each try's own limit (a call that hangs is given up and tried again).
  absl::Duration try_timeout = absl::InfiniteDuration();

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
  // When the last try was accepted (its prices' time), by the tries' clock.
  absl::Time priced_at;
  // The last try's answer is the one to keep (not to be tried again).
  bool final_answer = false;

  // An outcome to record: a final answer, or no answer after every try.
  bool done() const { return final_answer || !exhausted.empty(); }

  // Between tries.
  int failures = 0;  // retryable failures, counted against max_attempts
  bool retryable = false;
  std::optional<absl::Duration> wait_for;  // a limit's Retry-After
};

class JobTries {
 public:
  // `edge`, `usage` and `clock` (the edge's) outlive this.
  JobTries(ChatEdge* edge, UsageReporter* usage, const host::Clock* clock,
           int max_attempts, absl::Duration backoff)
      : edge_(edge), usage_(usage), clock_(clock), max_attempts_(max_attempts),
        backoff_(backoff) {}

  // Called after each round of tries with the jobs that became done() in
  // it, to record them at once (their answers were metered: a crash or a
  // stop must not run them again). An error stops the run.
  using OnDone = std::function<absl::Status(const std::vector<JobTry*>& done)>;

  // Tries every job until each has an answer or has used its tries (then
  // `exhausted` says why). UNAVAILABLE when `stop` said so first (the
  // gateway stopping, a batch cancelled; asked between tries and while
  // waiting): the jobs not done yet are left for a later run, and a try
  // that failed because of the stop is not counted against its job.
  absl::Status Run(const std::vector<JobTry*>& jobs, const std::function<bool()>& stop,
                   const OnDone& on_done) const;

 private:
  // One try of each job, returning when all have answered.
  void TryAll(const std::vector<JobTry*>& jobs) const;

  ChatEdge* const edge_;
  UsageReporter* const usage_;
  const host::Clock* const clock_;
  const int max_attempts_;
  const absl::Duration backoff_;
};

}  // namespace sluice::ingress
