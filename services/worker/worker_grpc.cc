#include "services/worker/worker_grpc.h"

#include "libs/host/grpc_server_call.h"

namespace sluice::worker {

grpc::ServerWriteReactor<sluice::v1::ChatChunk>* WorkerGrpc::Generate(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  return host::ServeStream<sluice::v1::ChatChunk>(
      context, auth_, [&](host::CallContextPtr ctx, auto* sink) {
        worker_->Generate(std::move(ctx), *request, sink);
      });
}

grpc::ServerUnaryReactor* WorkerGrpc::Tokenize(
    grpc::CallbackServerContext* context,
    const sluice::v1::TokenizeRequest* request,
    sluice::v1::TokenizeResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            worker_->Tokenize(std::move(ctx), *request,
                                              std::move(done));
                          });
}

grpc::ServerUnaryReactor* WorkerGrpc::Info(
    grpc::CallbackServerContext* context, const sluice::v1::WorkerInfoRequest*,
    sluice::v1::WorkerInfo* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            worker_->Info(std::move(ctx), std::move(done));
                          });
}

}  // namespace sluice::worker
