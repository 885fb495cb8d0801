// MetricsRegistry: exact Prometheus text, escaping, validation, concurrency.
#include "libs/obs/metrics.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sluice::obs {
namespace {

TEST(MetricsRegistryTest, RendersExactPrometheusText) {
  MetricsRegistry registry;
  Counter& ok = registry.counter("sluice_requests_total", "Requests served",
                                 {{"status", "200"}, {"route", "sim/x"}});
  ok.Increment();
  ok.Increment(2);
  registry
      .counter("sluice_requests_total", "Requests served",
               {{"route", "a\"b\\c\nd"}, {"status", "500"}})
      .Increment();
  Gauge& inflight = registry.gauge("sluice_inflight", "In-flight requests");
  inflight.Set(5);
  inflight.Add(-2);
  Histogram& latency = registry.histogram("sluice_latency_seconds",
                                          "Latency\\in \"s\"\nsecond line",
                                          {1, 0.25, 0.5}, {{"route", "x"}});
  for (double v : {0.125, 0.25, 0.375, 2.0}) latency.Observe(v);

  EXPECT_EQ(
      registry.RenderPrometheusText(),
      "# HELP sluice_inflight In-flight requests\n"
      "# TYPE sluice_inflight gauge\n"
      "sluice_inflight 3\n"
      "# HELP sluice_latency_seconds Latency\\\\in \"s\"\\nsecond line\n"
      "# TYPE sluice_latency_seconds histogram\n"
      "sluice_latency_seconds_bucket{route=\"x\",le=\"0.25\"} 2\n"
      "sluice_latency_seconds_bucket{route=\"x\",le=\"0.5\"} 3\n"
      "sluice_latency_seconds_bucket{route=\"x\",le=\"1\"} 3\n"
      "sluice_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
      "sluice_latency_seconds_sum{route=\"x\"} 2.75\n"
      "sluice_latency_seconds_count{route=\"x\"} 4\n"
      "# HELP sluice_requests_total Requests served\n"
      "# TYPE sluice_requests_total counter\n"
      "sluice_requests_total{route=\"a\\\"b\\\\c\\nd\",status=\"500\"} 1\n"
      "sluice_requests_total{route=\"sim/x\",status=\"200\"} 3\n");
}

TEST(MetricsRegistryTest, HistogramWithoutLabelsAndFractions) {
  MetricsRegistry registry;
  Histogram& h = registry.histogram("h", "H", {0.005, 0.0005});
  h.Observe(0.001);
  h.Observe(0.25);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP h H\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"0.0005\"} 0\n"
            "h_bucket{le=\"0.005\"} 1\n"
            "h_bucket{le=\"+Inf\"} 2\n"
            "h_sum 0.251\n"
            "h_count 2\n");
  EXPECT_EQ(h.count(), 2u);
}

TEST(MetricsRegistryTest, SameSeriesIsSameObjectWhateverLabelOrder) {
  MetricsRegistry registry;
  Counter& a = registry.counter("c", "C", {{"x", "1"}, {"y", "2"}});
  Counter& b = registry.counter("c", "C", {{"y", "2"}, {"x", "1"}});
  Counter& other = registry.counter("c", "C", {{"x", "2"}, {"y", "2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
}

TEST(MetricsRegistryTest, CounterIgnoresNegativeDeltas) {
  MetricsRegistry registry;
  Counter& c = registry.counter("c", "C");
  c.Increment(4);
  c.Increment(-1);
  EXPECT_EQ(c.value(), 4);
}

TEST(MetricsRegistryTest, InvalidRegistrationsGetUnrenderedSinks) {
  MetricsRegistry registry;
  registry.counter("good", "Good").Increment();
  registry.counter("1bad", "Bad name").Increment();
  registry.counter("bad-name", "Bad name").Increment();
  registry.counter("ok", "Bad label", {{"__reserved", "x"}}).Increment();
  registry.counter("ok", "Bad label", {{"a-b", "x"}}).Increment();
  registry.counter("ok", "Dup label", {{"a", "1"}, {"a", "2"}}).Increment();
  registry.histogram("hist", "le is reserved", {1}, {{"le", "1"}}).Observe(1);
  // Same name, other type: the first type wins.
  registry.gauge("good", "Now a gauge").Set(7);

  EXPECT_EQ(registry.invalid_registrations(), 7u);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP good Good\n# TYPE good counter\ngood 1\n");
}

TEST(MetricsRegistryTest, ConcurrentUpdatesSumExactly) {
  MetricsRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      // Each thread looks the series up itself, then caches it.
      Counter& counter = registry.counter("n", "N", {{"k", "v"}});
      Gauge& gauge = registry.gauge("g", "G");
      Histogram& histogram = registry.histogram("h", "H", {0.5});
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(1);
        histogram.Observe(i % 2 == 0 ? 0.25 : 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry.counter("n", "N", {{"k", "v"}}).value(),
            kThreads * kPerThread);
  EXPECT_EQ(registry.gauge("g", "G").value(), kThreads * kPerThread);
  Histogram& histogram = registry.histogram("h", "H", {0.5});
  EXPECT_EQ(histogram.count(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(histogram.bucket_counts()[0], uint64_t{kThreads * kPerThread / 2});
  EXPECT_EQ(histogram.sum(), kThreads * kPerThread / 2 * 1.25);
}

TEST(MetricsRegistryTest, DefaultLatencyBucketsAreSorted) {
  std::vector<double> buckets = DefaultLatencyBucketsSeconds();
  ASSERT_FALSE(buckets.empty());
  EXPECT_TRUE(std::is_sorted(buckets.begin(), buckets.end()));
  EXPECT_EQ(&MetricsRegistry::Default(), &MetricsRegistry::Default());
}

}  // namespace
}  // namespace sluice::obs
