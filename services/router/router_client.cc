#include "services/router/router_client.h"

#include "libs/host/grpc_client_call.h"

namespace sluice::router {

using sluice::v1::ChatChunk;

void RouterClient::CountTokens(
    host::CallContextPtr context, sluice::v1::TokenCountRequest request,
    host::Callback<sluice::v1::TokenCountResponse> done) {
  sluice::v1::Router::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::TokenCountResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->CountTokens(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

void RouterClient::Route(host::CallContextPtr context,
                         sluice::v1::ChatRequest request,
                         host::Callback<sluice::v1::ChatResponse> done) {
  sluice::v1::Router::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::ChatResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Route(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

void RouterClient::StreamRoute(host::CallContextPtr context,
                               sluice::v1::ChatRequest request,
                               host::Sink<ChatChunk>* sink) {
  auto held = std::make_shared<sluice::v1::ChatRequest>(std::move(request));
  sluice::v1::Router::Stub* stub = stub_.get();
  host::ClientStreamCall<ChatChunk>::Run(
      [stub, held](grpc::ClientContext* c,
                   grpc::ClientReadReactor<ChatChunk>* r) {
        stub->async()->StreamRoute(c, held.get(), r);
      },
      context, auth_, sink, held);
}

host::ClientDefinition RouterClientDefinition() {
  return {kServiceName,
          [](host::Components& components,
             std::shared_ptr<grpc::Channel> channel,
             const host::InternalAuth* auth) {
            components.Own<Router>(
                kServiceName,
                std::make_shared<RouterClient>(std::move(channel), auth));
          }};
}

}  // namespace sluice::router
