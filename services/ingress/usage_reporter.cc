#include "services/ingress/usage_reporter.h"

#include "spdlog/spdlog.h"

namespace sluice::ingress {

void KafkaUsageReporter::Report(const sluice::v1::UsageEvent& event) {
  producer_->Produce(topic_, event.request_id(), event.SerializeAsString(),
                     [id = event.request_id()](absl::Status status) {
                       if (!status.ok()) {
                         spdlog::error("usage event {} not delivered: {}", id,
                                       status.ToString());
                       }
                     });
}

}  // namespace sluice::ingress
