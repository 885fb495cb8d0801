// The Metering service: consumes usage events from Kafka into a UsageStore
// and answers usage queries over gRPC.
#pragma once

#include <memory>

#include "libs/kafka/consumer.h"
#include "services/metering/usage_store.h"
#include "sluice/v1/config.pb.h"
#include "sluice/v1/metering.grpc.pb.h"

namespace sluice::metering {

class MeteringService final : public sluice::v1::Metering::CallbackService {
 public:
  // Opens the store and starts consuming `kafka.usage_topic` from `brokers`.
  static absl::StatusOr<std::unique_ptr<MeteringService>> Create(
      const sluice::v1::Config& config, const std::string& brokers);
  ~MeteringService() override;

  // sluice::v1::Metering::CallbackService
  grpc::ServerUnaryReactor* GetUsage(
      grpc::CallbackServerContext* context,
      const sluice::v1::UsageQuery* query,
      sluice::v1::UsageReport* report) override;

 private:
  explicit MeteringService(UsageStorePtr store) : store_(std::move(store)) {}
  // Applies one Kafka message; a malformed one is logged and skipped.
  absl::Status Consume(const kafka::Message& message);

  UsageStorePtr store_;
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace sluice::metering
