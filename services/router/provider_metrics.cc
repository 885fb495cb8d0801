#include "services/router/provider_metrics.h"

#include <utility>

namespace sluice::router {

ProviderMetrics::ProviderMetrics(obs::MetricsRegistry* registry)
    : registry_(registry != nullptr ? *registry
                                    : obs::MetricsRegistry::Default()) {}

ProviderMetrics::Series& ProviderMetrics::SeriesLocked(
    const std::string& route) {
  std::unique_ptr<Series>& series = series_[route];
  if (series == nullptr) {
    series = std::make_unique<Series>();
    size_t slash = route.find('/');
    series->provider = route.substr(0, slash);
    series->model = slash == std::string::npos ? "" : route.substr(slash + 1);
    obs::Labels labels = {{"provider", series->provider},
                          {"model", series->model}};
    series->requests = &registry_.counter(
        "sluice_provider_requests_total",
        "Upstream attempts, by provider and model.", labels);
    series->latency = &registry_.histogram(
        "sluice_provider_latency_seconds",
        "Duration of upstream attempts (to the last byte).",
        obs::DefaultLatencyBucketsSeconds(), labels);
  }
  return *series;
}

void ProviderMetrics::Attempt(const std::string& route) {
  absl::MutexLock lock(&mu_);
  SeriesLocked(route).requests->Increment();
}

void ProviderMetrics::Success(const std::string& route,
                              absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  SeriesLocked(route).latency->Observe(absl::ToDoubleSeconds(latency));
}

void ProviderMetrics::Failure(const std::string& route, const std::string& kind,
                              absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  Series& series = SeriesLocked(route);
  series.latency->Observe(absl::ToDoubleSeconds(latency));
  obs::Counter*& errors = series.errors[kind];
  if (errors == nullptr) {
    errors = &registry_.counter(
        "sluice_provider_errors_total",
        "Failed upstream attempts, by provider, model and kind.",
        {{"provider", series.provider},
         {"model", series.model},
         {"kind", kind}});
  }
  errors->Increment();
}

}  // namespace sluice::router
