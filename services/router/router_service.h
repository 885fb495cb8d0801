// The Router gRPC service. For now: resolve the static route and hand the
// call to the adapters; classification, plans, fallback, cache and
// scheduler come with their issues.
#pragma once

#include "libs/host/service_host.h"
#include "services/router/static_routes.h"
#include "sluice/v1/adapter.grpc.pb.h"
#include "sluice/v1/config.pb.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::router {

class RouterService final : public sluice::v1::Router::CallbackService {
 public:
  RouterService(const sluice::v1::Config& config,
                host::ChannelProvider* channels);

  // sluice::v1::Router::CallbackService
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* context,
                                  const sluice::v1::ChatRequest* request,
                                  sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamRoute(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request) override;

 private:
  absl::StatusOr<sluice::v1::AdapterRequest> Plan(
      const sluice::v1::ChatRequest& request) const;

  StaticRoutes routes_;
  host::LazyStub<sluice::v1::Adapter> adapters_;
};

}  // namespace sluice::router
