#include "services/ingress/gateway_service.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/codec/openai_codec.h"
#include "libs/host/grpc_context.h"
#include "libs/host/grpc_server_call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"

namespace sluice::ingress {
namespace {

// Sluice's id for the request, and the client's own when it sent one.
void AddRequestIds(grpc::CallbackServerContext& context,
                   const RequestRecord& record) {
  context.AddInitialMetadata("x-request-id", record.request_id());
  if (!record.client_request_id().empty()) {
    context.AddInitialMetadata("x-client-request-id",
                               record.client_request_id());
  }
}

using sluice::v1::ChatChunk;

RequestHeaders HeadersOf(const grpc::CallbackServerContext& context) {
  RequestHeaders headers;
  headers.authorization = host::ClientMetadata(context, "authorization");
  headers.traceparent = host::ClientMetadata(context, "traceparent");
  headers.task = host::ClientMetadata(context, "x-sluice-task");
  headers.cache = host::ClientMetadata(context, "x-sluice-cache");
  headers.cache_ttl = host::ClientMetadata(context, "x-sluice-cache-ttl");
  return headers;
}

// The call's context: the client's deadline, our request id; the client
// going away cancels it (through the reactor).
host::CallContextPtr EdgeContext(const grpc::CallbackServerContext& context,
                                 const RequestRecord& record) {
  return host::CallContext::Create(
      {std::min(host::DeadlineOf(context),
                absl::Now() + host::kDefaultCallTimeout),
       record.request_id(), "", {}});
}

class GrpcAnswer final : public UnaryFace {
 public:
  GrpcAnswer(host::UnaryServerCall* reactor, sluice::v1::ChatResponse* response)
      : reactor_(reactor), response_(response) {}

  void Answer(sluice::v1::ChatResponse response, RequestRecord&,
              const std::string&) override {
    *response_ = std::move(response);
    reactor_->Finish(grpc::Status::OK);
  }
  void Fail(const absl::Status& status, RequestRecord&) override {
    reactor_->Finish(status::ToGrpcStatus(status));
  }

 private:
  host::UnaryServerCall* reactor_;
  sluice::v1::ChatResponse* response_;
};

class GrpcStream final : public StreamFace {
 public:
  explicit GrpcStream(host::ServerStreamCall<ChatChunk>* out) : out_(out) {}

  void Start(host::FlowPtr flow) override { out_->Start(std::move(flow)); }
  void Head(const ChatChunk&, RequestRecord&, const std::string&) override {}
  bool Chunk(const ChatChunk& chunk) override { return out_->Next(chunk); }
  void End(RequestRecord&) override { out_->Done(absl::OkStatus()); }
  void Fail(const absl::Status& status, bool, RequestRecord&) override {
    out_->Done(status);
  }

 private:
  host::ServerStreamCall<ChatChunk>* out_;
};

}  // namespace

grpc::ServerUnaryReactor* GatewayService::Complete(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request,
    sluice::v1::ChatResponse* response) {
  auto record = std::make_shared<RequestRecord>(
      usage_,
      ClientRequestId(host::ClientMetadata(*context, "x-client-request-id"),
                      host::ClientMetadata(*context, "x-request-id")),
      /*stream=*/false);
  AddRequestIds(*context, *record);
  host::CallContextPtr call = EdgeContext(*context, *record);
  auto* reactor = new host::UnaryServerCall(call);
  sluice::v1::ChatRequest asked = *request;
  asked.set_stream(false);
  edge_->Unary(std::move(call), HeadersOf(*context),
               codec::CheckChatRequest(asked),
               std::move(record),
               std::make_unique<GrpcAnswer>(reactor, response));
  return reactor;
}

grpc::ServerWriteReactor<ChatChunk>* GatewayService::StreamComplete(
    grpc::CallbackServerContext* context,
    const sluice::v1::ChatRequest* request) {
  auto record = std::make_shared<RequestRecord>(
      usage_,
      ClientRequestId(host::ClientMetadata(*context, "x-client-request-id"),
                      host::ClientMetadata(*context, "x-request-id")),
      /*stream=*/true);
  AddRequestIds(*context, *record);
  host::CallContextPtr call = EdgeContext(*context, *record);
  auto* out = new host::ServerStreamCall<ChatChunk>(call, nullptr, *context);
  sluice::v1::ChatRequest asked = *request;
  asked.set_stream(true);
  edge_->Stream(std::move(call), HeadersOf(*context),
                codec::CheckChatRequest(asked),
                std::move(record), std::make_unique<GrpcStream>(out));
  return out;
}

grpc::ServerUnaryReactor* GatewayService::ListModels(
    grpc::CallbackServerContext* context,
    const sluice::v1::ListModelsRequest* request,
    sluice::v1::ListModelsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Authenticate(*context, [this, reactor, response](
                             absl::StatusOr<Caller> caller) {
    if (!caller.ok()) {
      reactor->Finish(status::ToGrpcStatus(caller.status()));
      return;
    }
    for (const std::string& model : models_) {
      if (!caller->MayUse(model)) continue;
      sluice::v1::ModelInfo* info = response->add_models();
      info->set_id(model);
      info->set_owned_by("sluice");
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* GatewayService::GetJob(grpc::CallbackServerContext* context,
                                                 const sluice::v1::JobResultRequest* request,
                                                 sluice::v1::JobResult* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Authenticate(*context, [this, reactor, request, response](
                             absl::StatusOr<Caller> caller) {
    if (!caller.ok()) {
      reactor->Finish(status::ToGrpcStatus(caller.status()));
      return;
    }
    if (jobs_ == nullptr) {
      reactor->Finish(status::ToGrpcStatus(
          absl::UnavailableError("async jobs are disabled")));
      return;
    }
    absl::StatusOr<std::string> line =
        jobs_->FinishedResult(caller->tenant, request->custom_id());
    if (!line.ok()) {
      reactor->Finish(status::ToGrpcStatus(line.status()));
      return;
    }
    response->set_custom_id(request->custom_id());
    response->set_status("completed");
    response->set_result_json(*std::move(line));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

void GatewayService::Authenticate(
    const grpc::CallbackServerContext& context,
    absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const {
  RequestHeaders headers;
  headers.authorization = host::ClientMetadata(context, "authorization");
  edge_->admission().lookups().Authenticate(headers, std::move(then));
}

}  // namespace sluice::ingress
