#include "services/ingress/usage_reporter.h"

#include "libs/obs/metrics.h"

namespace sluice::ingress {
namespace {

// The spool's figures as metrics, set from one writer's drain thread (the
// counters grow by what the writer's totals grew since its last call).
class SpoolMetrics {
 public:
  void operator()(const kafka::SpooledTopic::Stats& stats) {
    obs::MetricsRegistry& registry = obs::MetricsRegistry::Default();
    registry
        .gauge("sluice_usage_spool_events",
               "Usage events waiting in the disk spool for Kafka")
        .Set(static_cast<double>(stats.spool_records));
    registry
        .gauge("sluice_usage_spool_bytes", "Bytes of the usage events' spool")
        .Set(static_cast<double>(stats.spool_bytes));
    Grow(registry.counter("sluice_usage_events_spooled_total",
                          "Usage events spooled to disk (broker away)"),
         stats.spooled, spooled_);
    Grow(registry.counter("sluice_usage_events_delivered_from_spool_total",
                          "Spooled usage events delivered to Kafka"),
         stats.delivered_from_spool, delivered_);
    Grow(registry.counter("sluice_usage_events_dropped_total",
                          "Usage events lost because the spool was full "
                          "(alert on any)"),
         stats.dropped, dropped_);
  }

 private:
  static void Grow(obs::Counter& counter, int64_t now, int64_t& seen) {
    counter.Increment(static_cast<double>(now - seen));
    seen = now;
  }

  int64_t spooled_ = 0;
  int64_t delivered_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaUsageReporter>> KafkaUsageReporter::Create(
    kafka::Producer* producer, std::string topic, kafka::Spool::Options spool) {
  absl::StatusOr<std::unique_ptr<kafka::SpooledTopic>> writer =
      kafka::SpooledTopic::Create(producer, std::move(topic), std::move(spool),
                                  SpoolMetrics());
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<KafkaUsageReporter>(
      new KafkaUsageReporter(*std::move(writer)));
}

void KafkaUsageReporter::Report(const sluice::v1::UsageEvent& event) {
  // Keyed (so partitioned) by tenant: one tenant's events stay in order on
  // one partition. Metering deduplicates by the event's own request id.
  writer_->Write(event.tenant(), event.SerializeAsString());
}

}  // namespace sluice::ingress
