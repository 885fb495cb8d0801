#include "services/ingress/chat_http_handler.h"

#include <memory>
#include <utility>

#include "libs/codec/openai_codec.h"
#include "libs/status/errors.h"
#include "services/ingress/http_errors.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/route_headers.h"

namespace sluice::ingress {
namespace {

using sluice::v1::ChatChunk;

// A request's whole life is bounded: no answer takes longer than this.
constexpr absl::Duration kRequestTimeout = absl::Minutes(10);

// The headers of a successful answer.
http::Headers AnswerHeaders(RequestRecord& record, const char* content_type,
                            const std::string& route,
                            const sluice::v1::RouteDecision& decision,
                            const std::string& overhead_ms) {
  http::Headers headers = record.headers();
  headers.emplace_back("content-type", content_type);
  headers.emplace_back("x-sluice-route", route);
  headers.emplace_back("x-sluice-overhead-ms", overhead_ms);
  AppendDecisionHeaders(decision, headers);
  return headers;
}

class JsonAnswer final : public UnaryFace {
 public:
  explicit JsonAnswer(http::ResponseWriterPtr writer)
      : writer_(std::move(writer)) {}

  void Answer(sluice::v1::ChatResponse response, RequestRecord& record,
              const std::string& overhead_ms) override {
    writer_->Respond(200,
                     AnswerHeaders(record, "application/json", response.route(),
                                   response.decision(), overhead_ms),
                     codec::WriteChatResponse(response));
  }
  void Fail(const absl::Status& status, RequestRecord& record) override {
    RespondWithError(*writer_, status, record.headers());
  }

 private:
  http::ResponseWriterPtr writer_;
};

// Server-sent events: an error before the first chunk is a plain JSON error
// answer; after it, an error event (never [DONE]).
class SseAnswer final : public StreamFace {
 public:
  SseAnswer(http::ResponseWriterPtr writer, bool include_usage)
      : writer_(std::move(writer)), include_usage_(include_usage) {}

  void Start(host::FlowPtr flow) override {
    writer_->SetOnDrained([flow] { flow->Resume(); });
  }
  void Head(const ChatChunk& first, RequestRecord& record,
            const std::string& overhead_ms) override {
    http::Headers headers = AnswerHeaders(record, "text/event-stream",
                                          first.route(), first.decision(),
                                          overhead_ms);
    headers.emplace_back("cache-control", "no-cache");
    writer_->StartStream(200, std::move(headers));
  }
  bool Chunk(const ChatChunk& chunk) override {
    bool usage_chunk = chunk.has_usage() && chunk.choices().empty();
    if (usage_chunk && !include_usage_) return true;
    return writer_->WriteEvent(codec::WriteChatChunk(chunk, include_usage_));
  }
  void End(RequestRecord&) override {
    writer_->WriteEvent("[DONE]");
    writer_->EndStream();
  }
  void Fail(const absl::Status& status, bool started,
            RequestRecord& record) override {
    if (!started) {
      RespondWithError(*writer_, status, record.headers());
      return;
    }
    ChatChunk error_chunk;
    *error_chunk.mutable_error() = status::ErrorFromStatus(status);
    writer_->WriteEvent(codec::WriteChatChunk(error_chunk, false));
    writer_->EndStream();
  }

 private:
  http::ResponseWriterPtr writer_;
  bool include_usage_;
};

}  // namespace

void ChatHttpHandler::Handle(http::Request http_request,
                             http::ResponseWriterPtr writer) {
  auto record = std::make_shared<RequestRecord>(
      usage_,
      ClientRequestId(http_request.Header("x-client-request-id"),
                      http_request.Header("x-request-id")),
      /*stream=*/false);
  absl::StatusOr<sluice::v1::ChatRequest> request =
      codec::ParseChatRequest(http_request.body);
  bool stream = request.ok() && request->stream();
  record->event().set_stream(stream);
  RequestHeaders headers;
  headers.authorization = http_request.Header("authorization");
  headers.traceparent = http_request.Header("traceparent");
  headers.task = http_request.Header("x-sluice-task");
  headers.cache = http_request.Header("x-sluice-cache");
  headers.cache_ttl = http_request.Header("x-sluice-cache-ttl");
  host::CallContextPtr context = host::CallContext::Create(
      {absl::Now() + kRequestTimeout, record->request_id(), "", {}});
  // The client going away cancels the call (and so the upstream call).
  writer->SetOnClientGone([context] { context->Cancel(); });
  if (stream) {
    bool include_usage = request->include_usage();
    edge_->Stream(std::move(context), headers, std::move(request),
                  std::move(record),
                  std::make_unique<SseAnswer>(std::move(writer), include_usage));
  } else {
    edge_->Unary(std::move(context), headers, std::move(request),
                 std::move(record),
                 std::make_unique<JsonAnswer>(std::move(writer)));
  }
}

}  // namespace sluice::ingress
