// Where ingress sends the one usage event of each request.
#pragma once

#include <memory>
#include <string>

#include "libs/kafka/producer.h"
#include "sluice/v1/metering.pb.h"

namespace sluice::ingress {

class UsageReporter {
 public:
  virtual ~UsageReporter() = default;
  virtual void Report(const sluice::v1::UsageEvent& event) = 0;
};

// Publishes each event to Kafka, keyed by request id (metering deduplicates
// by that key, so a redelivered event is counted once).
class KafkaUsageReporter : public UsageReporter {
 public:
  KafkaUsageReporter(kafka::Producer* producer, std::string topic)
      : producer_(producer), topic_(std::move(topic)) {}

  // UsageReporter
  void Report(const sluice::v1::UsageEvent& event) override;

 private:
  kafka::Producer* producer_;
  std::string topic_;
};

}  // namespace sluice::ingress
