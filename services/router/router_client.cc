#include "services/router/router_client.h"

#include "libs/host/grpc_client_call.h"

namespace sluice::router {

using sluice::v1::ChatChunk;

namespace {

// How long asking the router to wind a stream down may take.
constexpr absl::Duration kCancelTimeout = absl::Seconds(1);

}  // namespace

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
  // A caller that leaves still gets the usage of what was relayed, as
  // co-hosted: the router is asked to wind the stream down, not cut off.
  host::WindDown wind_down;
  wind_down.ask = [stub, auth = auth_, request_id = context->request_id()](
                      const std::string& call_id,
                      absl::AnyInvocable<void(bool) &&> done) {
    host::CallContext::Options options;
    options.deadline = absl::Now() + kCancelTimeout;
    options.request_id = request_id;
    sluice::v1::StreamCancel cancel;
    cancel.set_call_id(call_id);
    host::CallUnary<sluice::v1::StreamCancelled>(
        [stub](auto* c, auto* q, auto* r, auto f) {
          stub->async()->CancelStream(c, q, r, std::move(f));
        },
        host::CallContext::Create(std::move(options)), auth, std::move(cancel),
        [done = std::move(done)](
            absl::StatusOr<sluice::v1::StreamCancelled> answer) mutable {
          std::move(done)(answer.ok() && answer->found());
        });
  };
  host::ClientStreamCall<ChatChunk>::Run(
      [stub, held](grpc::ClientContext* c,
                   grpc::ClientReadReactor<ChatChunk>* r) {
        stub->async()->StreamRoute(c, held.get(), r);
      },
      context, auth_, sink, held, std::move(wind_down));
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
