// Per-candidate upstream metrics on /metrics: attempts, errors by kind and
// attempt latency, labelled by provider and model. Series are looked up once
// per candidate and kept.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/obs/metrics.h"

namespace sluice::router {

class ProviderMetrics {
 public:
  // Metrics go to `registry`, or to MetricsRegistry::Default() when null.
  explicit ProviderMetrics(obs::MetricsRegistry* registry = nullptr);

  // Thread-safe. `route` is "provider/model".
  void Attempt(const std::string& route);
  void Success(const std::string& route, absl::Duration latency);
  // `kind` as FailureClass::kind.
  void Failure(const std::string& route, const std::string& kind,
               absl::Duration latency);

 private:
  struct Series {
    std::string provider;
    std::string model;
    obs::Counter* requests;
    obs::Histogram* latency;
    absl::flat_hash_map<std::string, obs::Counter*> errors;
  };
  Series& SeriesLocked(const std::string& route)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  obs::MetricsRegistry& registry_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Series>> series_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::router
