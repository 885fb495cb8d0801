#include "services/ingress/token_count_handler.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"

namespace sluice::ingress {
namespace {

// A count is quick; one that takes longer has failed.
constexpr absl::Duration kCountTimeout = absl::Seconds(30);

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

// One count's answer and its usage event, each exactly once; the usage
// event first, so that a client that has read the answer finds it metered.
struct CountCall {
  RequestRecordPtr record;
  http::ResponseWriterPtr writer;
  host::CallTracker::Ticket ticket;

  void Fail(const absl::Status& status) {
    record->FinishFailed(status);
    RespondWithError(*writer, status, record->headers());
  }
  void Answer(const sluice::v1::TokenCountResponse& count) {
    sluice::v1::RouteDecision* decision =
        record->event().mutable_decision();
    decision->set_prompt_tokens_estimate(count.prompt_tokens());
    decision->set_prompt_tokens_exact(true);
    http::Headers headers = record->headers();
    headers.emplace_back("content-type", "application/json");
    record->Finish(200);
    writer->Respond(200, std::move(headers), TokenCountJson(count));
  }
};

}  // namespace

void TokenCountHandler::Handle(http::Request request,
                               http::ResponseWriterPtr writer) {
  auto call = std::make_shared<CountCall>();
  call->record = std::make_shared<RequestRecord>(
      usage_,
      ClientRequestId(request.Header("x-client-request-id"),
                      request.Header("x-request-id")),
      /*stream=*/false);
  call->writer = std::move(writer);
  sluice::v1::UsageEvent& event = call->record->event();
  event.set_operation(kTokenCountOperation);
  absl::StatusOr<Caller> caller =
      auth_->Authenticate(request.Header("authorization"));
  if (!caller.ok()) return call->Fail(caller.status());
  event.set_tenant(caller->tenant);
  event.set_key_id(caller->key_id);
  absl::StatusOr<sluice::v1::ChatRequest> parsed =
      codec::ParseChatRequest(request.body);
  if (!parsed.ok()) return call->Fail(parsed.status());
  event.set_model(parsed->model().substr(0, kMaxModelBytes));
  if (absl::Status valid = ValidateChatRequest(*parsed); !valid.ok()) {
    return call->Fail(valid);
  }
  if (!caller->MayUse(parsed->model())) {
    // The key's model list holds here as on chat completions.
    return call->Fail(status::PermissionDenied(
        absl::StrCat("This API key may not use the model '", parsed->model(),
                     "'."),
        "model", "model_not_allowed"));
  }
  if (router_ == nullptr) {
    return call->Fail(absl::UnavailableError("the router is not reachable"));
  }
  host::CallContextPtr context = host::CallContext::Create(
      {absl::Now() + kCountTimeout, call->record->request_id(), "",
       {caller->tenant, caller->key_id}});
  call->ticket = calls_->Enter(context);
  if (!call->ticket) {
    return call->Fail(absl::UnavailableError("this gateway is shutting down"));
  }
  sluice::v1::TokenCountRequest count;
  *count.mutable_request() = *std::move(parsed);
  sluice::v1::RequestContext* request_context =
      count.mutable_request()->mutable_context();
  request_context->set_request_id(call->record->request_id());
  request_context->set_tenant(caller->tenant);
  request_context->set_key_id(caller->key_id);
  gate_->AdmitRequestOnly(
      call->record, *caller,
      [this, call, context = std::move(context),
       count = std::move(count)](absl::Status admitted) mutable {
        if (!admitted.ok()) return call->Fail(admitted);
        router_->CountTokens(
            std::move(context), std::move(count),
            [call](absl::StatusOr<sluice::v1::TokenCountResponse> counted) {
              if (!counted.ok()) return call->Fail(counted.status());
              call->Answer(*counted);
            });
      });
}

}  // namespace sluice::ingress
