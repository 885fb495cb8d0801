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
    kafka::Producer* producer, std::string topic, kafka::Spool::Options spool,
    std::string journal_dir) {
  absl::StatusOr<std::unique_ptr<kafka::SpooledTopic>> writer =
      kafka::SpooledTopic::Create(producer, std::move(topic), std::move(spool),
                                  SpoolMetrics());
  if (!writer.ok()) return writer.status();
  std::unique_ptr<KafkaUsageReporter> reporter(
      new KafkaUsageReporter(*std::move(writer)));
  if (journal_dir.empty()) return reporter;
  std::vector<sluice::v1::UsageEvent> leftover;
  absl::StatusOr<std::unique_ptr<UsageJournal>> journal =
      UsageJournal::Open({std::move(journal_dir)}, &leftover);
  if (!journal.ok()) return journal.status();
  reporter->journal_ = *std::move(journal);
  // Journaled again (held until durable) before the old files go: a crash
  // in between sends them twice, which metering counts once.
  for (const sluice::v1::UsageEvent& event : leftover) {
    std::string serialized = event.SerializeAsString();
    UsageJournal::EntryPtr entry =
        reporter->journal_->Finish(nullptr, serialized);
    reporter->Send(event.tenant(), std::move(serialized), std::move(entry));
  }
  reporter->journal_->DropLeftovers();
  return reporter;
}

std::shared_ptr<void> KafkaUsageReporter::Begin(
    const sluice::v1::UsageEvent& event) {
  if (journal_ == nullptr) return nullptr;
  return journal_->Begin(event);
}

void KafkaUsageReporter::Report(const sluice::v1::UsageEvent& event,
                                std::shared_ptr<void> begun) {
  std::string serialized = event.SerializeAsString();
  std::shared_ptr<void> held;
  if (journal_ != nullptr && begun != nullptr) {
    // Only a request that was begun is journaled at its end: one refused
    // at admission ends where it started, in microseconds.
    held = journal_->Finish(
        std::static_pointer_cast<UsageJournal::Entry>(std::move(begun)),
        serialized);
  }
  Send(event.tenant(), std::move(serialized), std::move(held));
}

void KafkaUsageReporter::Send(const std::string& tenant,
                              std::string serialized,
                              std::shared_ptr<void> held) {
  // Keyed (so partitioned) by tenant: one tenant's events stay in order on
  // one partition. Metering deduplicates by the event's own request id.
  // `held` (a journal entry) goes once the event is durable.
  writer_->Write(tenant, serialized,
                 held == nullptr
                     ? std::function<void()>()
                     : [held = std::move(held)]() mutable { held.reset(); });
}

}  // namespace sluice::ingress
