#include "services/router/router_service.h"

#include <utility>

#include "libs/host/failed_stream.h"
#include "libs/status/grpc_status.h"
#include "services/router/stream_execution.h"
#include "services/router/unary_execution.h"

namespace sluice::router {

absl::StatusOr<std::unique_ptr<RouterService>> RouterService::Create(
    const sluice::v1::Config& config, host::ChannelProvider* channels,
    RouterCoreOptions options) {
  absl::StatusOr<std::unique_ptr<RouterCore>> core =
      RouterCore::Create(config, channels, std::move(options));
  if (!core.ok()) return core.status();
  return std::unique_ptr<RouterService>(new RouterService(*std::move(core)));
}

grpc::ServerUnaryReactor* RouterService::CountTokens(
    grpc::CallbackServerContext* context,
    const sluice::v1::TokenCountRequest* request,
    sluice::v1::TokenCountResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<sluice::v1::TokenCountResponse> count =
      core_->CountTokens(request->request());
  if (count.ok()) *response = *std::move(count);
  reactor->Finish(status::ToGrpcStatus(count.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RouterService::Route(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request,
    sluice::v1::ChatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  UnaryExecution::Start(core_.get(), context, reactor, *request, response);
  return reactor;
}

grpc::ServerWriteReactor<sluice::v1::ChatChunk>* RouterService::StreamRoute(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  absl::StatusOr<std::string> model = core_->ResolveModel(*request);
  if (!model.ok()) {
    return new host::FailedStream<sluice::v1::ChatChunk>(
        status::ToGrpcStatus(model.status()));
  }
  return StreamExecution::Start(core_.get(), context, *request, *model);
}

}  // namespace sluice::router
