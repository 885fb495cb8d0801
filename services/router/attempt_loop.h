// The attempts of one request across its ordered candidates: which candidate
// to call next, how long to wait first (Retry-After, or exponential backoff
// with full jitter), when to give up; and the health board fed with every
// outcome. Transport-free, so that unary and streamed calls share it; not
// thread-safe (one request drives it from one callback at a time).
#pragma once

#include <optional>

#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/router/candidate_health.h"
#include "services/router/failure_class.h"
#include "services/router/route_strategy.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

struct RetryOptions {
  int max_attempts = 4;
  absl::Duration base_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(10);
  absl::Duration max_retry_after = absl::Seconds(60);

  static RetryOptions FromConfig(const sluice::v1::RetryConfig& config);
};

class AttemptLoop {
 public:
  struct Step {
    enum class Action { kAttempt, kWait, kGiveUp };
    Action action = Action::kGiveUp;
    const Candidate* candidate = nullptr;  // kAttempt
    absl::Duration wait;                   // kWait
    absl::Status status;                   // kGiveUp
  };

  // `health` must outlive the loop.
  AttemptLoop(RetryOptions options, std::vector<Candidate> candidates,
              HealthBoard* health);

  // What to do now: call Next() first, and again after each outcome and
  // after each wait.
  Step Next(absl::Time now);

  // Outcomes of the attempt Next() started.
  void Succeeded(absl::Duration latency, absl::Time now);
  void Failed(const absl::Status& status, absl::Time now);
  // The attempt ended without an outcome that says anything about the
  // candidate (the client went away).
  void Abandoned(absl::Time now);
  // The answer was truncated and the policy asks for a bigger model: true
  // when a later candidate has a larger context window or output limit
  // (Next() then calls it).
  bool Escalate(absl::Time now);

  const Candidate* current() const;
  int attempts() const { return attempts_; }
  // Time spent in upstream calls so far: ended attempts, plus the one in
  // progress up to `now` (waits between attempts are not counted).
  absl::Duration UpstreamTime(absl::Time now) const;
  // What happened, e.g. "a/m:rate_limited;a/m:resting;b/m:served".
  const std::string& reason() const { return reason_; }
  // Adds to reason(): "route:what".
  void Note(const std::string& route, const std::string& what);

 private:
  void EndAttempt(absl::Time now);
  // A live candidate other than the current one that is not known to be
  // unavailable right now.
  bool OtherCandidateReady(absl::Time now) const;

  const RetryOptions options_;
  std::vector<Candidate> candidates_;
  std::vector<bool> dead_;  // may not serve this request
  HealthBoard* health_;
  absl::BitGen rng_;

  int current_ = -1;
  int start_ = 0;  // where Next() starts looking
  int attempts_ = 0;
  int retries_ = 0;  // waits so far, for the backoff exponent
  std::optional<absl::Time> attempt_start_;  // while an attempt runs
  absl::Duration upstream_time_;  // of the attempts that ended
  absl::Duration pending_wait_;
  bool final_ = false;
  absl::Status last_error_;
  std::string reason_;
};

}  // namespace sluice::router
