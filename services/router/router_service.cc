#include "services/router/router_service.h"

#include <memory>

#include "services/router/router_grpc.h"
#include "services/router/router_impl.h"
#include "services/scheduler/scheduler.h"

namespace sluice::router {
namespace {

class HostedRouter final : public host::HostedService {
 public:
  HostedRouter(std::unique_ptr<RouterImpl> router,
               const host::InternalAuth* auth)
      : router_(std::move(router)), grpc_(router_.get(), auth) {}

  grpc::Service* internal_grpc() override { return &grpc_; }
  void Drain(absl::Time deadline) override { router_->Drain(deadline); }

 private:
  std::unique_ptr<RouterImpl> router_;
  RouterGrpc grpc_;
};

// Upstream calls go through the scheduler when this process hosts one,
// else straight to the adapters.
adapters::Adapters* UpstreamOf(host::Components& components) {
  if (auto* scheduler =
          components.Find<adapters::Adapters>(scheduler::kServiceName)) {
    return scheduler;
  }
  return components.Find<adapters::Adapters>(adapters::kServiceName);
}

}  // namespace

host::ServiceDefinition RouterServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<RouterImpl>> router =
                RouterImpl::Create(env.config, UpstreamOf(env.components),
                    env.components.Find<cache::Cache>(cache::kServiceName));
            if (!router.ok()) return router.status();
            env.components.Provide<Router>(kServiceName, router->get());
            return std::make_unique<HostedRouter>(*std::move(router), env.auth);
          }};
}

}  // namespace sluice::router
