// Health of each route candidate ("provider/model"): a circuit breaker over
// upstream failures, rest periods after 429s, and latency statistics (EWMA,
// p95, a "slow" flag) that the route strategies read. Time is always passed
// in, so the board is deterministic under test.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/obs/metrics.h"
#include "sluice/v1/config.pb.h"

namespace sluice::router {

enum class CircuitState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };

struct HealthOptions {
  int failure_threshold = 5;
  absl::Duration window = absl::Seconds(30);
  absl::Duration cooldown = absl::Seconds(30);
  absl::Duration p95_threshold = absl::ZeroDuration();  // 0: off
  absl::Duration slow_cooldown = absl::Seconds(30);
  double ewma_alpha = 0.3;

  // Fields left at zero in `config` keep the defaults above.
  static HealthOptions FromConfig(
      const sluice::v1::CircuitBreakerConfig& config);
};

// Thread-safe; every call holds one mutex briefly.
class HealthBoard {
 public:
  // Metrics go to `metrics`, or to MetricsRegistry::Default() when null.
  explicit HealthBoard(HealthOptions options,
                       obs::MetricsRegistry* metrics = nullptr);
  HealthBoard(const HealthBoard&) = delete;
  HealthBoard& operator=(const HealthBoard&) = delete;

  // May a request go to `route` now? Closed: yes. Open: no until `cooldown`
  // has passed since it opened, then it turns half-open. Half-open admits one
  // probe at a time. Resting (after a 429): no. When refused, `why` (if
  // non-null) is set to "open_circuit", "half_open_probe_busy" or "resting".
  bool Admit(const std::string& route, absl::Time now,
             std::string* why = nullptr);
  // Admit's answer without its side effects (it takes no probe slot), for
  // ordering candidates.
  bool WouldAdmit(const std::string& route, absl::Time now) const;

  // Outcome of an admitted attempt. Success closes a half-open circuit and
  // feeds the latency statistics.
  void RecordSuccess(const std::string& route, absl::Duration latency,
                     absl::Time now);
  // A failure that counts toward the breaker (5xx, timeout, connection
  // error, broken stream): `failure_threshold` of them within `window` open
  // the circuit; a failure while half-open re-opens it for a full cooldown.
  void RecordFailure(const std::string& route, absl::Time now);
  // A 429: the route rests until `until`. Not a breaker failure.
  void Rest(const std::string& route, absl::Time until);

  // An open circuit whose cooldown has passed reads as half-open.
  CircuitState State(const std::string& route, absl::Time now) const;
  bool Resting(const std::string& route, absl::Time now) const;
  // Latency EWMA in ms; nullopt before the first sample.
  std::optional<double> LatencyEwmaMs(const std::string& route) const;
  // p95 of the last 100 successful latencies; nullopt below 5 samples.
  std::optional<absl::Duration> LatencyP95(const std::string& route) const;
  // True for `slow_cooldown` after a success that left p95 above
  // `p95_threshold`.
  bool Slow(const std::string& route, absl::Time now) const;
  // Failures / attempts over roughly the last `window` (counted in tenths of
  // it); 0 without attempts.
  double ErrorRate(const std::string& route, absl::Time now) const;

 private:
  static constexpr int kLatencySamples = 100;
  static constexpr int kRateBuckets = 10;

  struct RateBucket {
    int64_t index = -1;  // which window/kRateBuckets slice of time it counts
    int64_t successes = 0;
    int64_t failures = 0;
  };

  struct RouteHealth {
    CircuitState state = CircuitState::kClosed;
    absl::Time opened_at = absl::InfinitePast();
    bool probe_in_flight = false;
    absl::Time probe_started = absl::InfinitePast();
    // The latest failure times, at most failure_threshold of them, oldest
    // first: the circuit opens when all fit in `window`.
    std::vector<absl::Time> recent_failures;
    std::array<RateBucket, kRateBuckets> rate;
    absl::Time rest_until = absl::InfinitePast();
    std::optional<double> ewma_ms;
    // Ring of the last kLatencySamples latencies; `next_sample` is where the
    // next one goes.
    std::vector<absl::Duration> samples;
    int next_sample = 0;
    absl::Time slow_until = absl::InfinitePast();
    obs::Gauge* state_gauge = nullptr;
    obs::Counter* opens = nullptr;
  };

  enum class Verdict { kAdmit, kProbe, kOpen, kProbeBusy, kResting };

  RouteHealth& EntryLocked(const std::string& route)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const RouteHealth* FindLocked(const std::string& route) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Verdict VerdictLocked(const RouteHealth& h, absl::Time now) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void SetStateLocked(RouteHealth& h, CircuitState state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The bucket counting `now`; null when `now` is older than the window.
  RateBucket* BucketLocked(RouteHealth& h, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t BucketIndex(absl::Time now) const;
  static std::optional<absl::Duration> P95(const RouteHealth& h);

  const HealthOptions options_;
  obs::MetricsRegistry& metrics_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, RouteHealth> routes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::router
