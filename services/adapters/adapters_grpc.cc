#include "services/adapters/adapters_grpc.h"

#include "libs/host/grpc_server_call.h"

namespace sluice::adapters {

grpc::ServerUnaryReactor* AdaptersGrpc::Complete(
    grpc::CallbackServerContext* context,
    const sluice::v1::AdapterRequest* request,
    sluice::v1::ChatResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            adapters_->Complete(std::move(ctx), *request,
                                                std::move(done));
                          });
}

grpc::ServerWriteReactor<sluice::v1::ChatChunk>* AdaptersGrpc::StreamComplete(
    grpc::CallbackServerContext* context,
    const sluice::v1::AdapterRequest* request) {
  return host::ServeStream<sluice::v1::ChatChunk>(
      context, auth_, [&](host::CallContextPtr ctx, auto* sink) {
        adapters_->StreamComplete(std::move(ctx), *request, sink);
      });
}

}  // namespace sluice::adapters
