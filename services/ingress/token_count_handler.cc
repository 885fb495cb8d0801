#include "services/ingress/token_count_handler.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/codec/openai_codec.h"
#include "libs/obs/trace_context.h"
#include "libs/status/errors.h"
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

}  // namespace

void TokenCountHandler::Handle(http::Request request,
                               http::ResponseWriterPtr writer) {
  std::string request_id = obs::NewRequestId(obs::ThreadLocalRandom());
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
  if (valid.ok() && !caller->MayUse(parsed->model())) {
    // The key's model list holds here as on chat completions.
    valid = status::PermissionDenied(
        absl::StrCat("This API key may not use the model '", parsed->model(),
                     "'."),
        "model", "model_not_allowed");
  }
  if (!valid.ok()) {
    RespondWithError(*writer, valid, headers);
    return;
  }
  if (router_ == nullptr) {
    RespondWithError(*writer,
                     absl::UnavailableError("the router is not reachable"),
                     headers);
    return;
  }
  host::CallContextPtr context = host::CallContext::Create(
      {absl::Now() + absl::Seconds(30), request_id, "",
       {caller->tenant, caller->key_id}});
  auto ticket = std::make_shared<host::CallTracker::Ticket>(
      calls_->Enter(context));
  if (!*ticket) {
    RespondWithError(*writer,
                     absl::UnavailableError("this gateway is shutting down"),
                     headers);
    return;
  }
  sluice::v1::TokenCountRequest count;
  *count.mutable_request() = *std::move(parsed);
  sluice::v1::RequestContext* request_context =
      count.mutable_request()->mutable_context();
  request_context->set_request_id(request_id);
  request_context->set_tenant(caller->tenant);
  request_context->set_key_id(caller->key_id);
  router_->CountTokens(
      std::move(context), std::move(count),
      [ticket, writer, headers](
          absl::StatusOr<sluice::v1::TokenCountResponse> counted) {
        if (!counted.ok()) {
          RespondWithError(*writer, counted.status(), headers);
          return;
        }
        http::Headers ok = headers;
        ok.emplace_back("content-type", "application/json");
        writer->Respond(200, std::move(ok), TokenCountJson(*counted));
      });
}

}  // namespace sluice::ingress
