#include "services/metering/metering_service.h"

#include <memory>

#include "services/metering/metering_grpc.h"
#include "services/metering/metering_impl.h"

namespace sluice::metering {
namespace {

class HostedMetering final : public host::HostedService {
 public:
  HostedMetering(std::unique_ptr<MeteringImpl> metering,
                 const host::InternalAuth* auth)
      : metering_(std::move(metering)), grpc_(metering_.get(), auth) {}

  grpc::Service* internal_grpc() override { return &grpc_; }
  // Queries answer at once; the consumer stops last, after every caller.
  void Drain(absl::Time) override { metering_->Stop(); }

 private:
  std::unique_ptr<MeteringImpl> metering_;
  MeteringGrpc grpc_;
};

}  // namespace

host::ServiceDefinition MeteringServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/true,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<MeteringImpl>> metering =
                MeteringImpl::Create(env.config, env.kafka_brokers);
            if (!metering.ok()) return metering.status();
            env.components.Provide<Metering>(kServiceName, metering->get());
            return std::make_unique<HostedMetering>(*std::move(metering),
                                                    env.auth);
          }};
}

}  // namespace sluice::metering
