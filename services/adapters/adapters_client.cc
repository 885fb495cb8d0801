#include "services/adapters/adapters_client.h"

#include "libs/host/grpc_client_call.h"

namespace sluice::adapters {

using sluice::v1::ChatChunk;

void AdaptersClient::Complete(host::CallContextPtr context,
                              sluice::v1::AdapterRequest request,
                              host::Callback<sluice::v1::ChatResponse> done) {
  sluice::v1::Adapter::Stub* stub = stub_.get();
  host::CallUnary<sluice::v1::ChatResponse>(
      [stub](auto* c, auto* q, auto* r, auto f) {
        stub->async()->Complete(c, q, r, std::move(f));
      },
      context, auth_, std::move(request), std::move(done));
}

void AdaptersClient::StreamComplete(host::CallContextPtr context,
                                    sluice::v1::AdapterRequest request,
                                    host::Sink<ChatChunk>* sink) {
  auto held = std::make_shared<sluice::v1::AdapterRequest>(std::move(request));
  sluice::v1::Adapter::Stub* stub = stub_.get();
  host::ClientStreamCall<ChatChunk>::Run(
      [stub, held](grpc::ClientContext* c,
                   grpc::ClientReadReactor<ChatChunk>* r) {
        stub->async()->StreamComplete(c, held.get(), r);
      },
      context, auth_, sink, held);
}

host::ClientDefinition AdaptersClientDefinition() {
  return {kServiceName,
          [](host::Components& components,
             std::shared_ptr<grpc::Channel> channel,
             const host::InternalAuth* auth) {
            components.Own<Adapters>(
                kServiceName,
                std::make_shared<AdaptersClient>(std::move(channel), auth));
          }};
}

}  // namespace sluice::adapters
