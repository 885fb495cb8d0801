// Where ingress sends the one usage event of each request.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/spooled_topic.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

class UsageReporter {
 public:
  virtual ~UsageReporter() = default;
  // Never blocks: called on request threads.
  virtual void Report(const sluice::v1::UsageEvent& event) = 0;
};

// Publishes each event to Kafka keyed by its tenant (metering deduplicates
// by the event's request id, so an event delivered twice counts once).
// Events the broker cannot take wait in a disk spool and are delivered when
// it is back, after a restart too; /metrics shows the spool's depth and any
// event dropped because the spool was full.
class KafkaUsageReporter : public UsageReporter {
 public:
  // `producer` must outlive the reporter's writer and every delivery
  // callback (destroy the producer after this).
  static absl::StatusOr<std::unique_ptr<KafkaUsageReporter>> Create(
      kafka::Producer* producer, std::string topic,
      kafka::Spool::Options spool);

  // UsageReporter
  void Report(const sluice::v1::UsageEvent& event) override;

  kafka::SpooledTopic::Stats stats() const { return writer_->stats(); }

 private:
  explicit KafkaUsageReporter(std::unique_ptr<kafka::SpooledTopic> writer)
      : writer_(std::move(writer)) {}

  std::unique_ptr<kafka::SpooledTopic> writer_;
};

}  // namespace sluice::ingress
