#include "libs/redis/redis_metrics.h"

namespace sluice::redis {
namespace {

constexpr char kErrorsName[] = "sluice_redis_errors_total";
constexpr char kErrorsHelp[] =
    "Redis commands that failed, by kind (timeout, unavailable, overloaded, "
    "error_reply).";

obs::Counter& Errors(obs::MetricsRegistry& registry, const char* kind) {
  return registry.counter(kErrorsName, kErrorsHelp, {{"kind", kind}});
}

}  // namespace

RedisMetrics& RedisMetrics::Get() {
  static RedisMetrics* metrics = [] {
    obs::MetricsRegistry& registry = obs::MetricsRegistry::Default();
    return new RedisMetrics{
        Errors(registry, "timeout"),
        Errors(registry, "unavailable"),
        Errors(registry, "overloaded"),
        Errors(registry, "error_reply"),
        registry.gauge("sluice_redis_connected",
                       "Redis clients currently connected."),
        // Redis answers in well under a millisecond when healthy.
        registry.histogram("sluice_redis_command_seconds",
                           "Time from sending a Redis command to its reply.",
                           {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                            0.025, 0.05, 0.1, 0.25, 0.5, 1}),
    };
  }();
  return *metrics;
}

}  // namespace sluice::redis
