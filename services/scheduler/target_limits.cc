#include "services/scheduler/target_limits.h"

#include <algorithm>

namespace sluice::scheduler {

void TargetLimits::Bucket::Refill(absl::Time now) {
  if (per_minute <= 0 || now <= updated) return;
  level = std::min(per_minute,
                   level + per_minute * absl::ToDoubleSeconds(now - updated) / 60.0);
  updated = now;
}

absl::Time TargetLimits::Bucket::ReadyAt(double amount, absl::Time now) const {
  if (per_minute <= 0) return now;
  double wanted = std::min(amount, per_minute);
  // `updated` is `now` after Refill(now).
  double level_now = std::min(
      per_minute, level + per_minute * absl::ToDoubleSeconds(now - updated) / 60.0);
  if (level_now >= wanted) return now;
  return now + absl::Seconds((wanted - level_now) * 60.0 / per_minute);
}

TargetLimits::TargetLimits(const TargetLimitsConfig& config, absl::Time now)
    : config_(config) {
  requests_ = {static_cast<double>(config.rpm), static_cast<double>(config.rpm), now};
  tokens_ = {static_cast<double>(config.tpm), static_cast<double>(config.tpm), now};
}

absl::Time TargetLimits::ReadyAt(int64_t tokens, int max_in_flight,
                                 absl::Time now) {
  if (max_in_flight > 0 && in_flight_ >= max_in_flight) {
    return absl::InfiniteFuture();
  }
  absl::Time ready = std::max(now, paused_until_);
  ready = std::max(ready, requests_.ReadyAt(1, now));
  ready = std::max(ready, tokens_.ReadyAt(static_cast<double>(tokens), now));
  return ready;
}

void TargetLimits::Start(int64_t tokens, absl::Time now) {
  ++in_flight_;
  requests_.Refill(now);
  tokens_.Refill(now);
  if (requests_.per_minute > 0) requests_.level -= 1;
  if (tokens_.per_minute > 0) tokens_.level -= static_cast<double>(tokens);
}

void TargetLimits::Finish(int64_t estimated_tokens, int64_t actual_tokens,
                          absl::Time now) {
  if (in_flight_ > 0) --in_flight_;
  tokens_.Refill(now);
  if (tokens_.per_minute > 0) {
    tokens_.level = std::min(
        tokens_.per_minute,
        tokens_.level + static_cast<double>(estimated_tokens - actual_tokens));
  }
}

void TargetLimits::PauseUntil(absl::Time until, absl::Time now) {
  paused_until_ = std::max(paused_until_, until);
  requests_.Refill(now);
  requests_.level = 0;
  requests_.updated = std::max(now, until);
}

}  // namespace sluice::scheduler
