#include "services/ingress/chat_edge.h"

#include <utility>

namespace sluice::ingress {
namespace {

using sluice::v1::ChatChunk;

absl::Status Stopping() {
  return absl::UnavailableError("this gateway is shutting down");
}

absl::Status NoRouter() {
  return absl::UnavailableError("the router is not reachable");
}

// What an admitted call runs under: the client's deadline and cancellation,
// the trace and caller admission established.
host::CallContextPtr RoutedContext(const host::CallContextPtr& edge,
                                   const sluice::v1::ChatRequest& request) {
  return edge->ChildFor(request.context().traceparent(),
                        {request.context().tenant(), request.context().key_id(),
                         request.context().batch()});
}

// The router's stream into the face and the record; deletes itself after
// the end (its ticket goes last).
class EdgeStream final : public host::Sink<ChatChunk> {
 public:
  EdgeStream(host::CallTracker::Ticket ticket, RequestRecordPtr record,
             std::unique_ptr<StreamFace> face)
      : ticket_(std::move(ticket)),
        record_(std::move(record)),
        face_(std::move(face)) {}

  // host::Sink
  void Start(host::FlowPtr flow) override { face_->Start(std::move(flow)); }

  bool Next(ChatChunk chunk) override {
    RequestRecord& record = *record_;
    if (!started_) {
      started_ = true;
      record.SetRoute(chunk.route());
      face_->Head(chunk, record, record.SetDecision(chunk.decision()));
    } else if (chunk.has_decision()) {
      *record.event().mutable_decision() = chunk.decision();
    }
    if (chunk.has_usage()) *record.event().mutable_usage() = chunk.usage();
    return face_->Chunk(chunk);
  }

  void Done(absl::Status status) override { End(status); }

  // Also for calls that end before the router is asked.
  void End(const absl::Status& status) {
    RequestRecord& record = *record_;
    if (status.ok()) {
      if (!started_) {
        started_ = true;
        face_->Head(ChatChunk(), record, record.SetDecision({}));
      }
      // Finished before the end goes out (RequestRecord::Finish).
      record.Finish(200);
      face_->End(record);
    } else {
      record.FinishFailed(status);
      face_->Fail(status, started_, record);
    }
    delete this;
  }

 private:
  host::CallTracker::Ticket ticket_;
  RequestRecordPtr record_;
  std::unique_ptr<StreamFace> face_;
  bool started_ = false;
};

}  // namespace

void ChatEdge::Refuse(const absl::Status& invalid,
                      const RequestHeaders& headers,
                      const RequestRecordPtr& record,
                      absl::AnyInvocable<void(absl::Status) &&> then) const {
  admission_->lookups().Authenticate(
      headers, [invalid, record, then = std::move(then)](
                   absl::StatusOr<Caller> caller) mutable {
        if (!caller.ok()) return std::move(then)(caller.status());
        record->event().set_tenant(caller->tenant);
        record->event().set_key_id(caller->key_id);
        std::move(then)(invalid);
      });
}

void ChatEdge::StampAcceptance(sluice::v1::ChatRequest& request) const {
  // Always overwritten: a gRPC client's own value must not pick its price.
  request.mutable_context()->set_priced_at_unix_ms(absl::ToUnixMillis(clock_->Now()));
}

void ChatEdge::Unary(host::CallContextPtr context, const RequestHeaders& headers,
                     absl::StatusOr<sluice::v1::ChatRequest> request,
                     RequestRecordPtr record, std::unique_ptr<UnaryFace> face) {
  struct Call {
    host::CallTracker::Ticket ticket;
    host::CallContextPtr context;
    sluice::v1::ChatRequest request;
    RequestRecordPtr record;
    std::unique_ptr<UnaryFace> face;

    // The record finishes before the answer is written
    // (RequestRecord::Finish).
    void Fail(const absl::Status& status) {
      record->FinishFailed(status);
      face->Fail(status, *record);
    }
  };
  auto call = std::make_shared<Call>();
  call->ticket = calls_->Enter(context);
  call->context = std::move(context);
  call->record = std::move(record);
  call->face = std::move(face);
  if (!request.ok()) {
    return Refuse(request.status(), headers, call->record,
                  [call](absl::Status refusal) { call->Fail(refusal); });
  }
  call->request = *std::move(request);
  if (!call->ticket) return call->Fail(Stopping());
  StampAcceptance(call->request);
  router::Router* router = router_;
  admission_->Admit(
      headers, call->request, call->record, [call, router](absl::Status admitted) {
        if (admitted.ok() && router == nullptr) admitted = NoRouter();
        if (!admitted.ok()) return call->Fail(admitted);
        call->record->Begin();
        host::CallContextPtr routed = RoutedContext(call->context, call->request);
        router->Route(
            std::move(routed), std::move(call->request),
            [call](absl::StatusOr<sluice::v1::ChatResponse> answer) {
              if (!answer.ok()) return call->Fail(answer.status());
              RequestRecord& record = *call->record;
              record.SetRoute(answer->route());
              *record.event().mutable_usage() = answer->usage();
              std::string overhead = record.SetDecision(answer->decision());
              record.Finish(200);
              call->face->Answer(*std::move(answer), record, overhead);
            });
      });
}

void ChatEdge::Stream(host::CallContextPtr context, const RequestHeaders& headers,
                      absl::StatusOr<sluice::v1::ChatRequest> request,
                      RequestRecordPtr record, std::unique_ptr<StreamFace> face) {
  host::CallTracker::Ticket ticket = calls_->Enter(context);
  bool stopping = !ticket;
  auto* stream = new EdgeStream(std::move(ticket), record, std::move(face));
  if (!request.ok()) {
    return Refuse(request.status(), headers, record,
                  [stream](absl::Status refusal) { stream->End(refusal); });
  }
  if (stopping) return stream->End(Stopping());
  struct Call {
    host::CallContextPtr context;
    sluice::v1::ChatRequest request;
  };
  auto call = std::make_shared<Call>(
      Call{std::move(context), *std::move(request)});
  StampAcceptance(call->request);
  router::Router* router = router_;
  admission_->Admit(headers, call->request, record,
                    [call, router, stream, record](absl::Status admitted) {
                      if (admitted.ok() && router == nullptr) {
                        admitted = NoRouter();
                      }
                      if (!admitted.ok()) return stream->End(admitted);
                      record->Begin();
                      host::CallContextPtr routed =
                          RoutedContext(call->context, call->request);
                      router->StreamRoute(std::move(routed),
                                          std::move(call->request), stream);
                    });
}

}  // namespace sluice::ingress
