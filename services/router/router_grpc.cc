#include "services/router/router_grpc.h"

#include "libs/host/grpc_server_call.h"

namespace sluice::router {

grpc::ServerUnaryReactor* RouterGrpc::CountTokens(
    grpc::CallbackServerContext* context,
    const sluice::v1::TokenCountRequest* request,
    sluice::v1::TokenCountResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            router_->CountTokens(std::move(ctx), *request,
                                                 std::move(done));
                          });
}

grpc::ServerUnaryReactor* RouterGrpc::Route(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request,
    sluice::v1::ChatResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            router_->Route(std::move(ctx), *request,
                                           std::move(done));
                          });
}

grpc::ServerWriteReactor<sluice::v1::ChatChunk>* RouterGrpc::StreamRoute(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  return host::ServeStream<sluice::v1::ChatChunk>(
      context, auth_,
      [&](host::CallContextPtr ctx, auto* sink) {
        router_->StreamRoute(std::move(ctx), *request, sink);
      },
      &streams_);
}

grpc::ServerUnaryReactor* RouterGrpc::CancelStream(
    grpc::CallbackServerContext* context,
    const sluice::v1::StreamCancel* request,
    sluice::v1::StreamCancelled* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (auth_ != nullptr && !auth_->Admit(*context)) {
    reactor->Finish(host::UnauthenticatedInternalCall());
    return reactor;
  }
  response->set_found(streams_.Cancel(request->call_id()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace sluice::router
