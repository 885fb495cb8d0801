#include "services/router/attempt_loop.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/config/duration.h"
#include "libs/upstream/retry_after.h"

namespace sluice::router {
namespace {

int64_t Capacity(const Candidate& c) {
  if (c.spec == nullptr) return 0;
  return std::max(c.spec->context_window(), c.spec->max_output_tokens());
}

}  // namespace

RetryOptions RetryOptions::FromConfig(const sluice::v1::RetryConfig& config) {
  RetryOptions options;
  if (config.max_attempts() > 0) options.max_attempts = config.max_attempts();
  options.base_backoff =
      sluice::config::DurationOr(config.base_backoff(), options.base_backoff);
  options.max_backoff =
      sluice::config::DurationOr(config.max_backoff(), options.max_backoff);
  options.max_retry_after = sluice::config::DurationOr(config.max_retry_after(),
                                                       options.max_retry_after);
  return options;
}

AttemptLoop::AttemptLoop(RetryOptions options, std::vector<Candidate> candidates,
                         HealthBoard* health)
    : options_(options),
      candidates_(std::move(candidates)),
      dead_(candidates_.size(), false),
      health_(health) {}

const Candidate* AttemptLoop::current() const {
  return current_ < 0 ? nullptr : &candidates_[current_];
}

void AttemptLoop::Note(const std::string& route, const std::string& what) {
  if (!reason_.empty()) reason_.push_back(';');
  absl::StrAppend(&reason_, route, ":", what);
}

AttemptLoop::Step AttemptLoop::Next(absl::Time now) {
  Step step;
  if (pending_wait_ > absl::ZeroDuration()) {
    step.action = Step::Action::kWait;
    step.wait = std::exchange(pending_wait_, absl::ZeroDuration());
    return step;
  }
  if (!final_ && attempts_ < options_.max_attempts) {
    const int n = static_cast<int>(candidates_.size());
    std::vector<std::string> refused;
    for (int k = 0; k < n; ++k) {
      int index = (start_ + k) % n;
      if (dead_[index]) continue;
      std::string route = candidates_[index].route();
      std::string why;
      if (!health_->Admit(route, now, &why)) {
        // Said once per candidate and request, however often it is asked.
        std::string note = absl::StrCat(route, ":", why);
        if (reason_.find(note) == std::string::npos) Note(route, why);
        continue;
      }
      current_ = index;
      ++attempts_;
      attempt_start_ = now;
      step.action = Step::Action::kAttempt;
      step.candidate = &candidates_[index];
      return step;
    }
  }
  step.action = Step::Action::kGiveUp;
  if (!last_error_.ok()) {
    step.status = last_error_;
  } else if (candidates_.empty()) {
    step.status = absl::FailedPreconditionError(
        "no candidate can serve this request (see the route's context "
        "windows and capabilities)");
  } else {
    step.status = absl::UnavailableError(absl::StrCat(
        "no upstream can take the request now (", reason_, ")"));
  }
  return step;
}

absl::Duration AttemptLoop::UpstreamTime(absl::Time now) const {
  if (!attempt_start_.has_value()) return upstream_time_;
  return upstream_time_ + std::max(absl::ZeroDuration(), now - *attempt_start_);
}

void AttemptLoop::EndAttempt(absl::Time now) {
  upstream_time_ = UpstreamTime(now);
  attempt_start_.reset();
}

void AttemptLoop::Succeeded(absl::Duration latency, absl::Time now) {
  EndAttempt(now);
  const std::string route = candidates_[current_].route();
  health_->RecordSuccess(route, latency, now);
  Note(route, "served");
  final_ = true;
}

void AttemptLoop::Abandoned(absl::Time now) {
  EndAttempt(now);
  // Success on the board would be wrong and failure unfair; a half-open probe
  // slot must still be given back, which a success of no latency would not
  // do right either, so the board is told nothing and the probe times out.
  Note(candidates_[current_].route(), "abandoned");
  final_ = true;
}

bool AttemptLoop::OtherCandidateReady(absl::Time now) const {
  for (size_t i = 0; i < candidates_.size(); ++i) {
    if (static_cast<int>(i) == current_ || dead_[i]) continue;
    if (health_->WouldAdmit(candidates_[i].route(), now)) return true;
  }
  return false;
}

void AttemptLoop::Failed(const absl::Status& status, absl::Time now) {
  EndAttempt(now);
  const std::string route = candidates_[current_].route();
  FailureClass failure = ClassifyFailure(status);
  last_error_ = status;
  if (failure.breaker_failure) health_->RecordFailure(route, now);
  if (!failure.retryable && !failure.fall_back) {
    Note(route, failure.kind);
    final_ = true;
    return;
  }
  if (!failure.retryable) dead_[current_] = true;
  const int n = static_cast<int>(candidates_.size());
  if (OtherCandidateReady(now)) {
    Note(route, failure.kind);
    if (failure.kind == "rate_limited") {
      health_->Rest(route, now + failure.retry_after.value_or(absl::Seconds(1)));
    }
    start_ = (current_ + 1) % n;
    return;
  }
  if (!failure.retryable || attempts_ >= options_.max_attempts) {
    Note(route, failure.kind);
    final_ = true;
    return;
  }
  // Only this candidate is left: wait, then try it again.
  absl::Duration wait;
  if (failure.retry_after.has_value()) {
    if (*failure.retry_after > options_.max_retry_after) {
      Note(route, absl::StrCat(failure.kind, " retry_after=",
                               absl::FormatDuration(*failure.retry_after),
                               " too long"));
      final_ = true;
      return;
    }
    wait = *failure.retry_after;
  } else {
    wait = upstream::BackoffWithFullJitter(
        retries_, options_.base_backoff, options_.max_backoff,
        [this] { return absl::Uniform<double>(rng_, 0.0, 1.0); });
  }
  ++retries_;
  Note(route, absl::StrCat(failure.kind, " wait=",
                           absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(1)))));
  if (failure.kind == "rate_limited") health_->Rest(route, now + wait);
  pending_wait_ = std::max(wait, absl::Nanoseconds(1));
  start_ = current_;
}

bool AttemptLoop::Escalate(absl::Time now) {
  const Candidate& served = candidates_[current_];
  for (size_t i = current_ + 1; i < candidates_.size(); ++i) {
    if (dead_[i]) continue;
    if (Capacity(candidates_[i]) > Capacity(served)) {
      Note(served.route(), "truncated escalate");
      dead_[current_] = true;
      start_ = static_cast<int>(i);
      final_ = false;
      return true;
    }
  }
  return false;
}

}  // namespace sluice::router
