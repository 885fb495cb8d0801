// The Router gRPC service: prepares each request (token count, task class,
// candidates in strategy order) and executes it across the candidates with
// retries, fallbacks and circuit breakers. The cache and the scheduler slot
// in before the adapters once they exist (their issues).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/host/service_host.h"
#include "services/router/router_core.h"
#include "sluice/v1/config.pb.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::router {

class RouterService final : public sluice::v1::Router::CallbackService {
 public:
  // `config` must outlive the service.
  static absl::StatusOr<std::unique_ptr<RouterService>> Create(
      const sluice::v1::Config& config, host::ChannelProvider* channels,
      RouterCoreOptions options = {});

  // sluice::v1::Router::CallbackService
  grpc::ServerUnaryReactor* CountTokens(
      grpc::CallbackServerContext* context,
      const sluice::v1::TokenCountRequest* request,
      sluice::v1::TokenCountResponse* response) override;
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* context,
                                  const sluice::v1::ChatRequest* request,
                                  sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamRoute(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request) override;

 private:
  explicit RouterService(std::unique_ptr<RouterCore> core)
      : core_(std::move(core)) {}

  std::unique_ptr<RouterCore> core_;
};

}  // namespace sluice::router
