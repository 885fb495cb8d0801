#include "services/ingress/chat_http_handler.h"

#include <memory>
#include <utility>

#include "libs/codec/openai_codec.h"
#include "libs/host/call_context.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"
#include "services/ingress/route_headers.h"

namespace sluice::ingress {
namespace {

using sluice::v1::ChatChunk;

constexpr absl::Duration kRequestTimeout = absl::Minutes(10);

http::Headers BaseHeaders(RequestRecord& record) { return record.headers(); }

void FinishWithError(RequestRecord& record, http::ResponseWriter& writer,
                     const absl::Status& status) {
  sluice::v1::Error error =
      RespondWithError(writer, status, BaseHeaders(record));
  record.Finish(error.http_status(), error.type());
}

// Reads the router's stream and writes it out as SSE. Errors before the
// first chunk become a plain JSON error response; after it, an error event.
class SseRelay : public grpc::ClientReadReactor<ChatChunk> {
 public:
  SseRelay(RequestRecordPtr record, http::ResponseWriterPtr writer,
           std::shared_ptr<sluice::v1::ChatRequest> request)
      : record_(std::move(record)),
        writer_(std::move(writer)),
        request_(std::move(request)),
        context_(host::RootContext(record_->request_id(),
                                   request_->context().traceparent(),
                                   kRequestTimeout)) {}

  void Start(sluice::v1::Router::Stub* router) {
    std::shared_ptr<grpc::ClientContext> context = context_;
    writer_->SetOnClientGone([context] { context->TryCancel(); });
    router->async()->StreamRoute(context_.get(), request_.get(), this);
    StartRead(&chunk_);
    StartCall();
  }

 private:
  // The response head, from the first chunk's route and decision.
  void Begin() {
    started_ = true;
    record_->SetRoute(chunk_.route());
    http::Headers headers = BaseHeaders(*record_);
    headers.emplace_back("content-type", "text/event-stream");
    headers.emplace_back("cache-control", "no-cache");
    headers.emplace_back("x-sluice-route", chunk_.route());
    headers.emplace_back("x-sluice-overhead-ms",
                         record_->SetDecision(chunk_.decision()));
    AppendDecisionHeaders(chunk_.decision(), headers);
    writer_->StartStream(200, std::move(headers));
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (!started_) Begin();
    if (chunk_.has_decision()) {
      *record_->event().mutable_decision() = chunk_.decision();
    }
    bool usage_chunk = chunk_.has_usage() && chunk_.choices().empty();
    if (chunk_.has_usage()) {
      *record_->event().mutable_usage() = chunk_.usage();
    }
    if (!usage_chunk || request_->include_usage()) {
      writer_->WriteEvent(
          codec::WriteChatChunk(chunk_, request_->include_usage()));
    }
    chunk_.Clear();
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& grpc_status) override {
    absl::Status status = status::FromGrpcStatus(grpc_status);
    if (status.ok()) {
      if (!started_) Begin();  // an answer of no chunks at all
      writer_->WriteEvent("[DONE]");
      writer_->EndStream();
      record_->Finish(200);
    } else if (!started_) {
      FinishWithError(*record_, *writer_, status);
    } else {
      // Never a silent success: the stream ends with an error event.
      sluice::v1::Error error = status::ErrorFromStatus(status);
      ChatChunk error_chunk;
      *error_chunk.mutable_error() = error;
      writer_->WriteEvent(codec::WriteChatChunk(error_chunk, false));
      writer_->EndStream();
      record_->Finish(error.http_status(), error.type());
    }
    delete this;
  }

  RequestRecordPtr record_;
  http::ResponseWriterPtr writer_;
  std::shared_ptr<sluice::v1::ChatRequest> request_;
  std::shared_ptr<grpc::ClientContext> context_;
  ChatChunk chunk_;
  bool started_ = false;
};

struct UnaryCall {
  RequestRecordPtr record;
  http::ResponseWriterPtr writer;
  std::unique_ptr<grpc::ClientContext> context;
  sluice::v1::ChatRequest request;
  sluice::v1::ChatResponse response;
};

}  // namespace

void ChatHttpHandler::Handle(http::Request http_request,
                             http::ResponseWriterPtr writer) {
  auto request = std::make_shared<sluice::v1::ChatRequest>();
  auto record = std::make_shared<RequestRecord>(
      usage_, RequestIdFor(http_request.Header("x-request-id")),
      /*stream=*/false);
  absl::StatusOr<sluice::v1::ChatRequest> parsed =
      codec::ParseChatRequest(http_request.body);
  if (!parsed.ok()) {
    // Still authenticate, so the rejected request is charged to its tenant.
    if (absl::StatusOr<Caller> caller =
            admission_->auth().Authenticate(http_request.Header("authorization"));
        caller.ok()) {
      record->event().set_tenant(caller->tenant);
      record->event().set_key_id(caller->key_id);
      FinishWithError(*record, *writer, parsed.status());
    } else {
      FinishWithError(*record, *writer, caller.status());
    }
    return;
  }
  *request = *std::move(parsed);
  record->event().set_stream(request->stream());
  RequestHeaders headers;
  headers.authorization = http_request.Header("authorization");
  headers.traceparent = http_request.Header("traceparent");
  headers.task = http_request.Header("x-sluice-task");
  headers.cache = http_request.Header("x-sluice-cache");
  headers.cache_ttl = http_request.Header("x-sluice-cache-ttl");
  // Named before the call: its arguments' order of evaluation is unspecified
  // and the callback takes ownership of these.
  RequestRecordPtr held = record;
  sluice::v1::ChatRequest& asked = *request;
  admission_->Admit(
      headers, asked, held,
      [this, record = std::move(record), writer = std::move(writer),
       request = std::move(request)](absl::Status admitted) mutable {
        if (!admitted.ok()) {
          FinishWithError(*record, *writer, admitted);
          return;
        }
        Route(std::move(record), std::move(writer), std::move(request));
      });
}

void ChatHttpHandler::Route(RequestRecordPtr record,
                            http::ResponseWriterPtr writer,
                            std::shared_ptr<sluice::v1::ChatRequest> request) {
  sluice::v1::Router::Stub* router = router_.get();
  if (router == nullptr) {
    FinishWithError(*record, *writer,
                    absl::UnavailableError("the router is not reachable"));
    return;
  }
  if (request->stream()) {
    (new SseRelay(std::move(record), std::move(writer), std::move(request)))
        ->Start(router);
    return;
  }
  auto call = std::make_shared<UnaryCall>();
  call->record = std::move(record);
  call->writer = std::move(writer);
  call->context = host::RootContext(call->record->request_id(),
                                    request->context().traceparent(),
                                    kRequestTimeout);
  call->request = std::move(*request);
  router->async()->Route(
      call->context.get(), &call->request, &call->response,
      [call](grpc::Status grpc_status) {
        absl::Status status = status::FromGrpcStatus(grpc_status);
        if (!status.ok()) {
          FinishWithError(*call->record, *call->writer, status);
          return;
        }
        RequestRecord& record = *call->record;
        record.SetRoute(call->response.route());
        *record.event().mutable_usage() = call->response.usage();
        http::Headers headers = BaseHeaders(record);
        headers.emplace_back("content-type", "application/json");
        headers.emplace_back("x-sluice-route", call->response.route());
        headers.emplace_back("x-sluice-overhead-ms",
                             record.SetDecision(call->response.decision()));
        AppendDecisionHeaders(call->response.decision(), headers);
        call->writer->Respond(200, std::move(headers),
                              codec::WriteChatResponse(call->response));
        record.Finish(200);
      });
}

}  // namespace sluice::ingress
