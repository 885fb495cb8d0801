// A Prometheus text-format (0.0.4) metrics registry. Fetching a series takes
// a lock; callers keep the returned reference, and updating it is one
// relaxed atomic operation.
#pragma once

#include "absl/strings/string_view.h"
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace sluice::obs {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A double updated atomically (CAS on its bits).
class AtomicDouble {
 public:
  void Add(double delta);
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Counter {
 public:
  void Increment(double delta = 1) { value_.Add(delta); }
  double value() const { return value_.value(); }

 private:
  AtomicDouble value_;
};

class Gauge {
 public:
  void Set(double value) { value_.Set(value); }
  void Add(double delta) { value_.Add(delta); }
  double value() const { return value_.value(); }

 private:
  AtomicDouble value_;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; the last one is +Inf.
  std::vector<uint64_t> bucket_counts() const;
  double sum() const { return sum_.value(); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  AtomicDouble sum_;
  std::atomic<uint64_t> count_{0};
};

class MetricsRegistry {
 public:
  Counter& counter(absl::string_view name, absl::string_view help,
                   const Labels& labels = {});
  Gauge& gauge(absl::string_view name, absl::string_view help,
               const Labels& labels = {});
  Histogram& histogram(absl::string_view name, absl::string_view help,
                       std::vector<double> bounds, const Labels& labels = {});

  std::string RenderPrometheusText() const;

  static MetricsRegistry& Default();

 private:
  struct Family {
    std::string type;  // counter, gauge, histogram
    std::string help;
    // Rendered label set ("{a=\"b\"}") → series.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyLocked(absl::string_view name, absl::string_view help,
                       const char* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
};

std::vector<double> DefaultLatencyBucketsSeconds();

}  // namespace sluice::obs
