// Settles that Redis did not take (down, or slower than the command
// timeout) are tried again, with backoff, until one lands, the reservation
// is unknown (NOT_FOUND: a settle that did land before its reply was lost,
// or the reservation's ttl passed) or the reservation's ttl passes. A Redis
// blip must not leave a budget charged at a request's estimate for good.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/ratelimit/limiter.h"

namespace sluice::ingress {

class SettleRetries {
 public:
  // `limiter` must outlive this. At most `max_pending` settles wait for a
  // retry; more are dropped and counted (their estimate stays charged).
  explicit SettleRetries(ratelimit::Limiter* limiter,
                         absl::Duration give_up_after = absl::Hours(1),
                         size_t max_pending = 100000);
  // Stop()s.
  ~SettleRetries();
  // Stops retrying (idempotent): what waits, and what fails from now on, is
  // dropped and counted. The limiter is not called after it returns.
  void Stop();

  // Settles `reservation` to `actual` now, and again later while it fails.
  void Settle(std::string reservation, ratelimit::Ask actual);

  // Settles waiting for a retry.
  size_t pending() const;

 private:
  struct Try {
    std::string reservation;
    ratelimit::Ask actual;
    int attempt = 0;
    absl::Time give_up;
  };

  void Attempt(Try attempt);
  // Queues the next attempt of a failed one, or drops it.
  void Again(Try attempt);
  void Run();

  ratelimit::Limiter* const limiter_;
  const absl::Duration give_up_after_;
  const size_t max_pending_;

  mutable absl::Mutex mu_;
  std::multimap<absl::Time, Try> due_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace sluice::ingress
