#include "services/router/router_service.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/host/call_context.h"
#include "libs/host/failed_stream.h"
#include "libs/host/stream_relay.h"
#include "libs/status/grpc_status.h"

namespace sluice::router {
namespace {

constexpr absl::Duration kDefaultTimeout = absl::Minutes(10);

grpc::Status Unreachable(const std::string& service) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat("service ", service, " is not reachable"));
}

// What an upstream call needs to outlive the reactor callback.
struct UnaryCall {
  std::unique_ptr<grpc::ClientContext> context;
  sluice::v1::AdapterRequest request;
};

}  // namespace

RouterService::RouterService(const sluice::v1::Config& config,
                             host::ChannelProvider* channels)
    : routes_(config), adapters_(channels, "adapters") {}

absl::StatusOr<sluice::v1::AdapterRequest> RouterService::Plan(
    const sluice::v1::ChatRequest& request) const {
  absl::StatusOr<router::Route> route = routes_.Resolve(request.model());
  if (!route.ok()) return route.status();
  sluice::v1::AdapterRequest call;
  call.set_provider(route->provider);
  call.set_upstream_model(route->upstream_model);
  *call.mutable_request() = request;
  return call;
}

grpc::ServerUnaryReactor* RouterService::Route(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request,
    sluice::v1::ChatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<sluice::v1::AdapterRequest> plan = Plan(*request);
  if (!plan.ok()) {
    reactor->Finish(status::ToGrpcStatus(plan.status()));
    return reactor;
  }
  sluice::v1::Adapter::Stub* stub = adapters_.get();
  if (stub == nullptr) {
    reactor->Finish(Unreachable(adapters_.service()));
    return reactor;
  }
  auto call = std::make_shared<UnaryCall>();
  call->context = host::ChildContext(*context, kDefaultTimeout);
  call->request = *std::move(plan);
  stub->async()->Complete(call->context.get(), &call->request, response,
                          [reactor, call](grpc::Status status) {
                            reactor->Finish(status);
                          });
  return reactor;
}

grpc::ServerWriteReactor<sluice::v1::ChatChunk>* RouterService::StreamRoute(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  using Chunk = sluice::v1::ChatChunk;
  absl::StatusOr<sluice::v1::AdapterRequest> plan = Plan(*request);
  if (!plan.ok()) {
    return new host::FailedStream<Chunk>(status::ToGrpcStatus(plan.status()));
  }
  sluice::v1::Adapter::Stub* stub = adapters_.get();
  if (stub == nullptr) {
    return new host::FailedStream<Chunk>(Unreachable(adapters_.service()));
  }
  auto call = std::make_shared<sluice::v1::AdapterRequest>(*std::move(plan));
  return new host::StreamRelay<Chunk>(
      host::ChildContext(*context, kDefaultTimeout),
      [stub, call](grpc::ClientContext* ctx,
                   grpc::ClientReadReactor<Chunk>* reactor) {
        stub->async()->StreamComplete(ctx, call.get(), reactor);
      },
      /*transform=*/nullptr, /*on_finish=*/nullptr, call);
}

}  // namespace sluice::router
