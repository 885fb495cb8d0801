// Where ingress sends the one usage event of each request.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/spooled_topic.h"
#include "services/ingress/usage_journal.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

class UsageReporter {
 public:
  virtual ~UsageReporter() = default;
  // The request `event` names is admitted and being routed: a reporter
  // that journals (KafkaUsageReporter) keeps it on disk until its final
  // event is durable. What it returns goes back with the request's Report.
  // Never blocks. Default: nothing kept.
  virtual std::shared_ptr<void> Begin(const sluice::v1::UsageEvent& event) {
    return nullptr;
  }
  // Never blocks: called on request threads. `begun`: what Begin returned
  // for this request (null when it was not called).
  virtual void Report(const sluice::v1::UsageEvent& event,
                      std::shared_ptr<void> begun) = 0;
};

// Publishes each event to Kafka keyed by its tenant (metering deduplicates
// by the event's request id, so an event delivered twice counts once).
// Events the broker cannot take wait in a disk spool and are delivered when
// it is back, after a restart too; /metrics shows the spool's depth and any
// event dropped because the spool was full. With a journal directory,
// requests are journaled from Begin until their event is durable, and what
// a dead process left there is sent at Create (see UsageJournal).
class KafkaUsageReporter : public UsageReporter {
 public:
  // `producer` must outlive the reporter's writer and every delivery
  // callback (destroy the producer after this). `journal_dir` empty: no
  // journal.
  static absl::StatusOr<std::unique_ptr<KafkaUsageReporter>> Create(
      kafka::Producer* producer, std::string topic,
      kafka::Spool::Options spool, std::string journal_dir = "");

  // UsageReporter
  std::shared_ptr<void> Begin(const sluice::v1::UsageEvent& event) override;
  void Report(const sluice::v1::UsageEvent& event,
              std::shared_ptr<void> begun) override;

  kafka::SpooledTopic::Stats stats() const { return writer_->stats(); }

 private:
  explicit KafkaUsageReporter(std::unique_ptr<kafka::SpooledTopic> writer)
      : writer_(std::move(writer)) {}
  void Send(const std::string& tenant, std::string serialized,
            std::shared_ptr<void> held);

  // Destroyed after writer_: the last delivery callbacks let go of their
  // journal entries into it.
  std::unique_ptr<UsageJournal> journal_;
  std::unique_ptr<kafka::SpooledTopic> writer_;
};

}  // namespace sluice::ingress
