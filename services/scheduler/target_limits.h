// What one target (a provider's key pool) accepts: a concurrency cap and
// requests and tokens per minute, as the provider's tier states them, and a
// pause after the provider answered 429. The clock is the caller's: every
// method takes `now`, so tests move time.
//
// The per-minute limits are token buckets holding a minute's worth and
// refilling continuously; a call larger than the whole bucket waits for a
// full one (it could never fit otherwise). Not thread-safe.
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace sluice::scheduler {

struct TargetLimitsConfig {
  int max_concurrency = 0;  // 0: no cap
  int64_t rpm = 0;          // 0: no limit
  int64_t tpm = 0;          // 0: no limit
};

class TargetLimits {
 public:
  TargetLimits(const TargetLimitsConfig& config, absl::Time now);

  // When a call of `tokens` could start: `now` when it can at once,
  // InfiniteFuture when only a call that finishes can make room (the
  // concurrency cap), else when the buckets will have refilled or the
  // pause ends. `max_in_flight` caps the call's class (batch calls leave
  // interactive ones a slot).
  absl::Time ReadyAt(int64_t tokens, int max_in_flight, absl::Time now);
  // Takes a slot, a request and `tokens` (ReadyAt said now).
  void Start(int64_t tokens, absl::Time now);
  // Frees the slot; the bucket gets back what the estimate over-charged (or
  // pays what it under-charged).
  void Finish(int64_t estimated_tokens, int64_t actual_tokens, absl::Time now);
  // The provider said 429: nothing starts before `until`, and the request
  // bucket starts empty then (it was fuller than the provider's).
  void PauseUntil(absl::Time until, absl::Time now);

  int in_flight() const { return in_flight_; }
  int max_concurrency() const { return config_.max_concurrency; }
  absl::Time paused_until() const { return paused_until_; }

 private:
  struct Bucket {
    double per_minute = 0;  // 0: unlimited
    double level = 0;
    absl::Time updated;
    void Refill(absl::Time now);
    // When `amount` (capped at the capacity) will be there.
    absl::Time ReadyAt(double amount, absl::Time now) const;
  };

  const TargetLimitsConfig config_;
  Bucket requests_;
  Bucket tokens_;
  absl::Time paused_until_ = absl::InfinitePast();
  int in_flight_ = 0;
};

}  // namespace sluice::scheduler
