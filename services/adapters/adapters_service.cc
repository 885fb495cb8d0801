#include "services/adapters/adapters_service.h"

#include <memory>

#include "services/adapters/adapters_grpc.h"
#include "services/adapters/adapters_impl.h"
#include "services/worker/worker.h"

namespace sluice::adapters {
namespace {

class HostedAdapters final : public host::HostedService {
 public:
  HostedAdapters(std::unique_ptr<AdaptersImpl> adapters,
                 const host::InternalAuth* auth)
      : adapters_(std::move(adapters)), grpc_(adapters_.get(), auth) {}

  grpc::Service* internal_grpc() override { return &grpc_; }
  void Drain(absl::Time deadline) override { adapters_->Drain(deadline); }

 private:
  std::unique_ptr<AdaptersImpl> adapters_;
  AdaptersGrpc grpc_;
};

}  // namespace

host::ServiceDefinition AdaptersServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<AdaptersImpl>> adapters =
                AdaptersImpl::Create(env.config,
                                     env.components.Find<worker::Worker>(
                                         worker::kServiceName),
                                     env.io, env.auth);
            if (!adapters.ok()) return adapters.status();
            env.components.Provide<Adapters>(kServiceName, adapters->get());
            return std::make_unique<HostedAdapters>(*std::move(adapters),
                                                    env.auth);
          }};
}

}  // namespace sluice::adapters
