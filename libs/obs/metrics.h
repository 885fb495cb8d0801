// A Prometheus text-format (0.0.4) metrics registry. Fetching a series takes
// a lock (a reader lock once the series exists); callers may keep the
// returned reference, which stays valid for the registry's lifetime, and
// updating it is one relaxed atomic operation with no lock.
//
// Names are programmer errors, not runtime input: a metric name must match
// [a-zA-Z_:][a-zA-Z0-9_:]*, a label name [a-zA-Z_][a-zA-Z0-9_]* without a
// leading "__", label names must be unique, histograms may not use "le", and a
// name keeps the type it was first registered with. A call that breaks one of
// these rules logs an error and returns a sink: a working series that is
// never rendered, so a typo cannot take the data path down.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sluice::obs {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A double updated atomically (compare-and-swap on its bits).
class AtomicDouble {
 public:
  void Add(double delta);
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Series are cache-line aligned so that two hot series never share a line.
class alignas(64) Counter {
 public:
  // Counters only go up: a negative or NaN delta is ignored.
  void Increment(double delta = 1) {
    if (delta > 0) value_.Add(delta);
  }
  double value() const { return value_.value(); }

 private:
  AtomicDouble value_;
};

class alignas(64) Gauge {
 public:
  void Set(double value) { value_.Set(value); }
  void Add(double delta) { value_.Add(delta); }
  double value() const { return value_.value(); }

 private:
  AtomicDouble value_;
};

class alignas(64) Histogram {
 public:
  // `bounds` are upper bounds (inclusive); they are sorted and de-duplicated,
  // non-finite ones are dropped (+Inf is always the implicit last bucket).
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; the last one is +Inf.
  std::vector<uint64_t> bucket_counts() const;
  double sum() const { return sum_.value(); }
  uint64_t count() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  AtomicDouble sum_;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(absl::string_view name, absl::string_view help,
                   const Labels& labels = {});
  Gauge& gauge(absl::string_view name, absl::string_view help,
               const Labels& labels = {});
  // `bounds` is used when the series is created; later calls for the same
  // series return it unchanged.
  Histogram& histogram(absl::string_view name, absl::string_view help,
                       std::vector<double> bounds, const Labels& labels = {});

  // Families sorted by name, series sorted by their (sorted) label sets.
  std::string RenderPrometheusText() const;

  // How many registrations were refused and answered with a sink.
  uint64_t invalid_registrations() const {
    return invalid_.load(std::memory_order_relaxed);
  }

  static MetricsRegistry& Default();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    // Rendered label set ("{a=\"b\"}") → series; std::map keeps it sorted.
    std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters;
    std::map<std::string, std::unique_ptr<Gauge>, std::less<>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms;
  };

  // The series' key, or false when the name or labels are invalid.
  bool SeriesKey(absl::string_view name, const Labels& labels, Type type,
                 std::string* key);
  void RefuseRegistration(absl::string_view name, absl::string_view why);
  // Finds or creates the family; nullptr when `name` has another type.
  Family* FamilyLocked(absl::string_view name, absl::string_view help,
                       Type type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The series `key` of family `name`, created (by `make`) on first use;
  // nullptr when `name` has another type. `map_of` picks the family's map.
  template <typename Series, typename MapOf, typename Make>
  Series* FindOrCreate(absl::string_view name, absl::string_view help,
                       Type type, const std::string& key, MapOf map_of,
                       Make make);

  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> invalid_{0};
  Counter sink_counter_;
  Gauge sink_gauge_;
  Histogram sink_histogram_;
};

// Seconds, from 0.5 ms to 60 s: fits both gateway overhead and upstream time.
std::vector<double> DefaultLatencyBucketsSeconds();

}  // namespace sluice::obs
