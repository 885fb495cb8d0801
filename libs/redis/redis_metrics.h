// The Redis client's metric series, looked up once per process in
// MetricsRegistry::Default().
#pragma once

#include "libs/obs/metrics.h"

namespace sluice::redis {

struct RedisMetrics {
  obs::Counter& timeout_errors;
  obs::Counter& unavailable_errors;
  obs::Counter& overloaded_errors;
  obs::Counter& error_replies;
  obs::Gauge& connected;  // connected clients
  obs::Histogram& command_seconds;

  static RedisMetrics& Get();
};

}  // namespace sluice::redis
