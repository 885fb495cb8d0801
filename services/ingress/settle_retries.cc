#include "services/ingress/settle_retries.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "libs/obs/metrics.h"
#include "libs/process/thread_name.h"

namespace sluice::ingress {
namespace {

obs::Counter& RetriedCounter() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_ratelimit_settle_retries_total",
      "Settles of a request's reservation tried again after Redis failed "
      "them.");
  return counter;
}

obs::Counter& DroppedCounter() {
  static obs::Counter& counter = obs::MetricsRegistry::Default().counter(
      "sluice_ratelimit_settles_dropped_total",
      "Settles given up (retry queue full, past the reservation's ttl, or "
      "shut down): the request stays charged at its estimate.");
  return counter;
}

// 250 ms, doubling, at most 30 s apart.
absl::Duration Backoff(int attempt) {
  return std::min(absl::Milliseconds(250) * (1 << std::min(attempt, 7)),
                  absl::Seconds(30));
}

}  // namespace

SettleRetries::SettleRetries(ratelimit::Limiter* limiter,
                             absl::Duration give_up_after, size_t max_pending)
    : limiter_(limiter),
      give_up_after_(give_up_after),
      max_pending_(max_pending),
      thread_([this] {
        process::NameThisThread("sluice-settles");
        Run();
      }) {}

SettleRetries::~SettleRetries() { Stop(); }

void SettleRetries::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < due_.size(); ++i) DroppedCounter().Increment();
  due_.clear();
}

void SettleRetries::Settle(std::string reservation, ratelimit::Ask actual) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      DroppedCounter().Increment();
      return;
    }
  }
  Attempt({std::move(reservation), actual, 0, absl::Now() + give_up_after_});
}

size_t SettleRetries::pending() const {
  absl::MutexLock lock(&mu_);
  return due_.size();
}

void SettleRetries::Attempt(Try attempt) {
  // Copied: the limiter may call back before Settle returns.
  const std::string reservation = attempt.reservation;
  const ratelimit::Ask actual = attempt.actual;
  limiter_->Settle(
      reservation, actual,
      [this, attempt = std::move(attempt)](absl::Status status) mutable {
        // Settled, or nothing (left) to settle.
        if (status.ok() || absl::IsNotFound(status)) return;
        Again(std::move(attempt));
      });
}

void SettleRetries::Again(Try attempt) {
  ++attempt.attempt;
  const absl::Time due = absl::Now() + Backoff(attempt.attempt);
  absl::MutexLock lock(&mu_);
  if (stopping_ || due > attempt.give_up || due_.size() >= max_pending_) {
    DroppedCounter().Increment();
    return;
  }
  RetriedCounter().Increment();
  due_.emplace(due, std::move(attempt));
}

void SettleRetries::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time next =
        due_.empty() ? absl::InfiniteFuture() : due_.begin()->first;
    auto wake = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!due_.empty() && due_.begin()->first < next) ||
             absl::Now() >= next;
    };
    mu_.AwaitWithDeadline(absl::Condition(&wake), next);
    if (stopping_) break;
    const absl::Time now = absl::Now();
    while (!due_.empty() && due_.begin()->first <= now) {
      Try attempt = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      mu_.Unlock();
      Attempt(std::move(attempt));
      mu_.Lock();
    }
  }
}

}  // namespace sluice::ingress
