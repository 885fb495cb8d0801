// The Router component of another process, over gRPC.
#pragma once

#include <memory>

#include "libs/host/host.h"
#include "services/router/router.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::router {

class RouterClient final : public Router {
 public:
  RouterClient(std::shared_ptr<grpc::Channel> channel,
               const host::InternalAuth* auth)
      : stub_(sluice::v1::Router::NewStub(std::move(channel))), auth_(auth) {}

  // Router
  void CountTokens(host::CallContextPtr context,
                   sluice::v1::TokenCountRequest request,
                   host::Callback<sluice::v1::TokenCountResponse> done) override;
  void Route(host::CallContextPtr context, sluice::v1::ChatRequest request,
             host::Callback<sluice::v1::ChatResponse> done) override;
  void StreamRoute(host::CallContextPtr context, sluice::v1::ChatRequest request,
                   host::Sink<sluice::v1::ChatChunk>* sink) override;

 private:
  std::unique_ptr<sluice::v1::Router::Stub> stub_;
  const host::InternalAuth* auth_;
};

// How a process that does not host the router reaches it.
host::ClientDefinition RouterClientDefinition();

}  // namespace sluice::router
