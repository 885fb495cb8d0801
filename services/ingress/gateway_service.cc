#include "services/ingress/gateway_service.h"

#include <memory>

#include "libs/host/call_context.h"
#include "libs/host/stream_relay.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"

namespace sluice::ingress {
namespace {

using sluice::v1::ChatChunk;

constexpr absl::Duration kRequestTimeout = absl::Minutes(10);

// Records the failure and converts it for the wire.
grpc::Status Fail(RequestRecord& record, const absl::Status& status) {
  sluice::v1::Error error = status::ErrorFromStatus(status);
  record.Finish(error.http_status(), error.type());
  return status::ToGrpcStatus(status);
}

RequestHeaders HeadersOf(const grpc::CallbackServerContext& context) {
  RequestHeaders headers;
  headers.authorization = host::ClientMetadata(context, "authorization");
  headers.traceparent = host::ClientMetadata(context, "traceparent");
  headers.task = host::ClientMetadata(context, "x-sluice-task");
  headers.cache = host::ClientMetadata(context, "x-sluice-cache");
  headers.cache_ttl = host::ClientMetadata(context, "x-sluice-cache-ttl");
  return headers;
}

struct UnaryCall {
  RequestRecordPtr record;
  std::unique_ptr<grpc::ClientContext> context;
  sluice::v1::ChatRequest request;
};

using Relay = host::StreamRelay<ChatChunk>;

}  // namespace

grpc::ServerUnaryReactor* GatewayService::Complete(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request,
    sluice::v1::ChatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = std::make_shared<UnaryCall>();
  call->record = std::make_shared<RequestRecord>(
      usage_, RequestIdFor(host::ClientMetadata(*context, "x-request-id")),
      /*stream=*/false);
  context->AddInitialMetadata("x-request-id", call->record->request_id());
  call->request = *request;
  call->request.set_stream(false);
  // The client context (deadline, trace, request id) is derived here, on
  // the handler's thread; admission may answer later on a Redis thread.
  call->context = host::ChildContext(*context, kRequestTimeout);
  admission_->Admit(
      HeadersOf(*context), call->request, call->record,
      [this, reactor, response, call](absl::Status admitted) {
        sluice::v1::Router::Stub* router =
            admitted.ok() ? router_.get() : nullptr;
        if (admitted.ok() && router == nullptr) {
          admitted = absl::UnavailableError("the router is not reachable");
        }
        if (!admitted.ok()) {
          reactor->Finish(Fail(*call->record, admitted));
          return;
        }
        router->async()->Route(
            call->context.get(), &call->request, response,
            [reactor, response, call](grpc::Status grpc_status) {
              if (grpc_status.ok()) {
                call->record->SetRoute(response->route());
                call->record->SetDecision(response->decision());
                *call->record->event().mutable_usage() = response->usage();
                call->record->Finish(200);
                reactor->Finish(grpc_status);
              } else {
                reactor->Finish(
                    Fail(*call->record, status::FromGrpcStatus(grpc_status)));
              }
            });
      });
  return reactor;
}

grpc::ServerWriteReactor<ChatChunk>* GatewayService::StreamComplete(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  auto record = std::make_shared<RequestRecord>(
      usage_, RequestIdFor(host::ClientMetadata(*context, "x-request-id")),
      /*stream=*/true);
  context->AddInitialMetadata("x-request-id", record->request_id());
  auto routed = std::make_shared<sluice::v1::ChatRequest>(*request);
  routed->set_stream(true);
  auto* relay = new Relay(
      host::ChildContext(*context, kRequestTimeout),
      [record](ChatChunk& chunk) {
        if (!record->event().has_decision()) {  // the first chunk
          record->SetRoute(chunk.route());
          record->SetDecision(chunk.decision());
        }
        if (chunk.has_usage()) *record->event().mutable_usage() = chunk.usage();
        if (chunk.has_decision()) {
          *record->event().mutable_decision() = chunk.decision();
        }
      },
      [record](const grpc::Status& grpc_status) {
        if (grpc_status.ok()) {
          record->Finish(200);
        } else {
          Fail(*record, status::FromGrpcStatus(grpc_status));
        }
      },
      routed);
  admission_->Admit(
      HeadersOf(*context), *routed, record,
      [this, relay, record, routed](absl::Status admitted) {
        sluice::v1::Router::Stub* router =
            admitted.ok() ? router_.get() : nullptr;
        if (admitted.ok() && router == nullptr) {
          admitted = absl::UnavailableError("the router is not reachable");
        }
        if (!admitted.ok()) {
          relay->Fail(Fail(*record, admitted));
          return;
        }
        relay->Start([router, routed](grpc::ClientContext* ctx,
                                      grpc::ClientReadReactor<ChatChunk>* r) {
          router->async()->StreamRoute(ctx, routed.get(), r);
        });
      });
  return relay;
}

grpc::ServerUnaryReactor* GatewayService::ListModels(
    grpc::CallbackServerContext* context,
    const sluice::v1::ListModelsRequest* request,
    sluice::v1::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = admission_->auth().Authenticate(
      host::ClientMetadata(*context, "authorization"));
  if (!caller.ok()) {
    reactor->Finish(status::ToGrpcStatus(caller.status()));
    return reactor;
  }
  for (const std::string& model : models_) {
    if (!caller->MayUse(model)) continue;
    sluice::v1::ModelInfo* info = response->add_models();
    info->set_id(model);
    info->set_owned_by("sluice");
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace sluice::ingress
