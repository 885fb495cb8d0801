#include "services/worker/worker_client.h"

#include "libs/host/grpc_client_call.h"

namespace sluice::worker {

using sluice::v1::ChatChunk;

void WorkerClient::Generate(host::CallContextPtr context,
                            sluice::v1::ChatRequest request,
                            host::Sink<ChatChunk>* sink) {
  auto held = std::make_shared<sluice::v1::ChatRequest>(std::move(request));
  sluice::v1::Worker::Stub* stub = stub_.get();
  host::ClientStreamCall<ChatChunk>::Run(
      [stub, held](grpc::ClientContext* c,
                   grpc::ClientReadReactor<ChatChunk>* r) {
        stub->async()->Generate(c, held.get(), r);
      },
      context, auth_, sink, held);
}

void WorkerClient::Tokenize(host::CallContextPtr context,
                            sluice::v1::TokenizeRequest request,
                            host::Callback<sluice::v1::TokenizeResponse> done) {
  sluice::v1::Worker::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::TokenizeResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Tokenize(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

void WorkerClient::Info(host::CallContextPtr context,
                        host::Callback<sluice::v1::WorkerInfo> done) {
  sluice::v1::Worker::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::WorkerInfo>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Info(c, q, r, std::move(f));
      },
      context, auth_, sluice::v1::WorkerInfoRequest(), std::move(done));
}

host::ClientDefinition WorkerClientDefinition() {
  return {kServiceName,
          [](host::Components& components,
             std::shared_ptr<grpc::Channel> channel,
             const host::InternalAuth* auth) {
            components.Own<Worker>(
                kServiceName,
                std::make_shared<WorkerClient>(std::move(channel), auth));
          }};
}

}  // namespace sluice::worker
