#include "services/ingress/token_count_handler.h"

#include <memory>

#include "libs/codec/openai_codec.h"
#include "libs/host/call_context.h"
#include "libs/status/grpc_status.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/request_admission.h"

namespace sluice::ingress {
namespace {

std::string TokenCountJson(const sluice::v1::TokenCountResponse& count) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("object");
  json.String("token_count");
  json.Key("model");
  json.String(count.model().c_str());
  json.Key("tokenizer");
  json.String(count.tokenizer().c_str());
  json.Key("prompt_tokens");
  json.Int64(count.prompt_tokens());
  json.Key("template_tokens");
  json.Int64(count.template_tokens());
  json.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

struct CountCall {
  std::unique_ptr<grpc::ClientContext> context;
  sluice::v1::TokenCountRequest request;
  sluice::v1::TokenCountResponse response;
};

}  // namespace

void TokenCountHandler::Handle(http::Request request,
                               http::ResponseWriterPtr writer) {
  std::string request_id = RequestIdFor(request.Header("x-request-id"));
  http::Headers headers = {{"x-request-id", request_id}};
  absl::StatusOr<Caller> caller =
      auth_->Authenticate(request.Header("authorization"));
  if (!caller.ok()) {
    RespondWithError(*writer, caller.status(), headers);
    return;
  }
  absl::StatusOr<sluice::v1::ChatRequest> parsed =
      codec::ParseChatRequest(request.body);
  absl::Status valid =
      parsed.ok() ? ValidateChatRequest(*parsed) : parsed.status();
  if (!valid.ok()) {
    RespondWithError(*writer, valid, headers);
    return;
  }
  sluice::v1::Router::Stub* router = router_.get();
  if (router == nullptr) {
    RespondWithError(*writer,
                     absl::UnavailableError("the router is not reachable"),
                     headers);
    return;
  }
  auto call = std::make_shared<CountCall>();
  *call->request.mutable_request() = *std::move(parsed);
  sluice::v1::RequestContext* context =
      call->request.mutable_request()->mutable_context();
  context->set_request_id(request_id);
  context->set_tenant(caller->tenant);
  context->set_key_id(caller->key_id);
  call->context = host::RootContext(request_id, "", absl::Seconds(30));
  router->async()->CountTokens(
      call->context.get(), &call->request, &call->response,
      [call, writer, headers](grpc::Status grpc_status) {
        if (!grpc_status.ok()) {
          RespondWithError(*writer, status::FromGrpcStatus(grpc_status),
                           headers);
          return;
        }
        http::Headers ok = headers;
        ok.emplace_back("content-type", "application/json");
        writer->Respond(200, std::move(ok), TokenCountJson(call->response));
      });
}

}  // namespace sluice::ingress
