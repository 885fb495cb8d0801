#include "services/router/candidate_health.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "libs/config/duration.h"

namespace sluice::router {
namespace {

// "provider/model" → {provider, model}, split at the first '/' (model ids
// may contain more slashes).
std::pair<std::string, std::string> SplitRoute(const std::string& route) {
  size_t slash = route.find('/');
  if (slash == std::string::npos) return {route, ""};
  return {route.substr(0, slash), route.substr(slash + 1)};
}

}  // namespace

HealthOptions HealthOptions::FromConfig(
    const sluice::v1::CircuitBreakerConfig& config) {
  HealthOptions options;
  if (config.failure_threshold() > 0) {
    options.failure_threshold = config.failure_threshold();
  }
  options.window = sluice::config::DurationOr(config.window(), options.window);
  options.cooldown =
      sluice::config::DurationOr(config.cooldown(), options.cooldown);
  options.p95_threshold =
      sluice::config::DurationOr(config.p95_threshold(), options.p95_threshold);
  options.slow_cooldown =
      sluice::config::DurationOr(config.slow_cooldown(), options.slow_cooldown);
  return options;
}

HealthBoard::HealthBoard(HealthOptions options, obs::MetricsRegistry* metrics)
    : options_(std::move(options)),
      metrics_(metrics != nullptr ? *metrics
                                  : obs::MetricsRegistry::Default()) {}

bool HealthBoard::Admit(const std::string& route, absl::Time now,
                        std::string* why) {
  absl::MutexLock lock(&mu_);
  RouteHealth& h = EntryLocked(route);
  const char* refusal = nullptr;
  switch (VerdictLocked(h, now)) {
    case Verdict::kAdmit:
      return true;
    case Verdict::kProbe:
      SetStateLocked(h, CircuitState::kHalfOpen);
      h.probe_in_flight = true;
      h.probe_started = now;
      return true;
    case Verdict::kOpen:
      refusal = "open_circuit";
      break;
    case Verdict::kProbeBusy:
      refusal = "half_open_probe_busy";
      break;
    case Verdict::kResting:
      refusal = "resting";
      break;
  }
  if (why != nullptr) *why = refusal;
  return false;
}

bool HealthBoard::WouldAdmit(const std::string& route, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  if (h == nullptr) return true;
  Verdict verdict = VerdictLocked(*h, now);
  return verdict == Verdict::kAdmit || verdict == Verdict::kProbe;
}

void HealthBoard::RecordSuccess(const std::string& route,
                                absl::Duration latency, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RouteHealth& h = EntryLocked(route);
  if (RateBucket* bucket = BucketLocked(h, now)) ++bucket->successes;
  // A success while fully open comes from a request admitted before the
  // circuit opened; only a half-open probe's success closes it.
  if (h.state == CircuitState::kHalfOpen) {
    SetStateLocked(h, CircuitState::kClosed);
    h.probe_in_flight = false;
    h.recent_failures.clear();
  }

  double ms = absl::ToDoubleMilliseconds(latency);
  h.ewma_ms = h.ewma_ms.has_value() ? options_.ewma_alpha * ms +
                                          (1 - options_.ewma_alpha) * *h.ewma_ms
                                    : ms;
  if (static_cast<int>(h.samples.size()) < kLatencySamples) {
    h.samples.push_back(latency);
  } else {
    h.samples[h.next_sample] = latency;
  }
  h.next_sample = (h.next_sample + 1) % kLatencySamples;

  if (options_.p95_threshold > absl::ZeroDuration()) {
    std::optional<absl::Duration> p95 = P95(h);
    if (p95.has_value() && *p95 > options_.p95_threshold) {
      h.slow_until = now + options_.slow_cooldown;
    }
  }
}

void HealthBoard::RecordFailure(const std::string& route, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RouteHealth& h = EntryLocked(route);
  if (RateBucket* bucket = BucketLocked(h, now)) ++bucket->failures;
  auto open = [&] {
    SetStateLocked(h, CircuitState::kOpen);
    h.opened_at = now;
    h.probe_in_flight = false;
    h.recent_failures.clear();
    h.opens->Increment();
  };
  switch (h.state) {
    case CircuitState::kOpen:
      return;  // a straggler admitted before the circuit opened
    case CircuitState::kHalfOpen:
      open();
      return;
    case CircuitState::kClosed:
      break;
  }
  // Kept sorted: callers on different threads may report slightly out of
  // order.
  auto& failures = h.recent_failures;
  failures.insert(std::upper_bound(failures.begin(), failures.end(), now), now);
  if (static_cast<int>(failures.size()) > options_.failure_threshold) {
    failures.erase(failures.begin());
  }
  if (static_cast<int>(failures.size()) >= options_.failure_threshold &&
      failures.back() - failures.front() <= options_.window) {
    open();
  }
}

void HealthBoard::Rest(const std::string& route, absl::Time until) {
  absl::MutexLock lock(&mu_);
  RouteHealth& h = EntryLocked(route);
  h.rest_until = std::max(h.rest_until, until);
}

CircuitState HealthBoard::State(const std::string& route,
                                absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  if (h == nullptr) return CircuitState::kClosed;
  if (h->state == CircuitState::kOpen &&
      now >= h->opened_at + options_.cooldown) {
    return CircuitState::kHalfOpen;
  }
  return h->state;
}

bool HealthBoard::Resting(const std::string& route, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  return h != nullptr && now < h->rest_until;
}

std::optional<double> HealthBoard::LatencyEwmaMs(
    const std::string& route) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  if (h == nullptr) return std::nullopt;
  return h->ewma_ms;
}

std::optional<absl::Duration> HealthBoard::LatencyP95(
    const std::string& route) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  if (h == nullptr) return std::nullopt;
  return P95(*h);
}

bool HealthBoard::Slow(const std::string& route, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  return h != nullptr && now < h->slow_until;
}

double HealthBoard::ErrorRate(const std::string& route, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  const RouteHealth* h = FindLocked(route);
  if (h == nullptr) return 0;
  int64_t current = BucketIndex(now);
  int64_t successes = 0;
  int64_t failures = 0;
  for (const RateBucket& bucket : h->rate) {
    if (bucket.index > current - kRateBuckets && bucket.index <= current) {
      successes += bucket.successes;
      failures += bucket.failures;
    }
  }
  int64_t attempts = successes + failures;
  return attempts == 0 ? 0 : static_cast<double>(failures) / attempts;
}

HealthBoard::RouteHealth& HealthBoard::EntryLocked(const std::string& route) {
  auto [it, inserted] = routes_.try_emplace(route);
  RouteHealth& h = it->second;
  if (inserted) {
    auto [provider, model] = SplitRoute(route);
    obs::Labels labels = {{"provider", provider}, {"model", model}};
    h.state_gauge = &metrics_.gauge(
        "sluice_provider_circuit_state",
        "Circuit breaker state per candidate (0 closed, 1 half-open, 2 open)",
        labels);
    h.opens = &metrics_.counter("sluice_provider_circuit_opens_total",
                                "Times a candidate's circuit opened", labels);
    h.state_gauge->Set(static_cast<double>(CircuitState::kClosed));
  }
  return h;
}

const HealthBoard::RouteHealth* HealthBoard::FindLocked(
    const std::string& route) const {
  auto it = routes_.find(route);
  return it == routes_.end() ? nullptr : &it->second;
}

HealthBoard::Verdict HealthBoard::VerdictLocked(const RouteHealth& h,
                                                absl::Time now) const {
  if (now < h.rest_until) return Verdict::kResting;
  switch (h.state) {
    case CircuitState::kClosed:
      return Verdict::kAdmit;
    case CircuitState::kOpen:
      return now < h.opened_at + options_.cooldown ? Verdict::kOpen
                                                   : Verdict::kProbe;
    case CircuitState::kHalfOpen:
      // A probe that never reported (its caller went away) is presumed lost
      // after a cooldown, so the slot cannot stay taken forever.
      return h.probe_in_flight && now < h.probe_started + options_.cooldown
                 ? Verdict::kProbeBusy
                 : Verdict::kProbe;
  }
  return Verdict::kAdmit;
}

void HealthBoard::SetStateLocked(RouteHealth& h, CircuitState state) {
  h.state = state;
  h.state_gauge->Set(static_cast<double>(state));
}

HealthBoard::RateBucket* HealthBoard::BucketLocked(RouteHealth& h,
                                                   absl::Time now) {
  int64_t index = BucketIndex(now);
  int64_t slot = index % kRateBuckets;
  if (slot < 0) slot += kRateBuckets;
  RateBucket& bucket = h.rate[slot];
  // A report older than the whole window must not wipe newer counts.
  if (bucket.index > index) return nullptr;
  if (bucket.index != index) bucket = RateBucket{index, 0, 0};
  return &bucket;
}

int64_t HealthBoard::BucketIndex(absl::Time now) const {
  absl::Duration width =
      std::max(options_.window / kRateBuckets, absl::Milliseconds(1));
  return static_cast<int64_t>(
      std::floor(absl::FDivDuration(now - absl::UnixEpoch(), width)));
}

std::optional<absl::Duration> HealthBoard::P95(const RouteHealth& h) {
  if (h.samples.size() < 5) return std::nullopt;
  std::vector<absl::Duration> sorted = h.samples;
  // Nearest rank: the smallest sample with at least 95% at or below it.
  size_t rank = (95 * sorted.size() + 99) / 100;
  std::nth_element(sorted.begin(), sorted.begin() + (rank - 1), sorted.end());
  return sorted[rank - 1];
}

}  // namespace sluice::router
