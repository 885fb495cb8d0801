#include "services/adapters/provider_call.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::adapters {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

// What one call keeps between curl callbacks (all on the client's event
// thread, so no locking inside but for the id, which the flow reads).
struct SseCallState {
  SseCallHandlers handlers;
  ChunkSink* sink;
  upstream::HttpResponseHead head;
  std::string error_body;
  std::unique_ptr<http::SseParser> parser;
  bool open = true;  // the sink's window, over one Feed()
  // Known once Start() returned; a resume asked before that is replayed.
  std::atomic<upstream::CallId> id{0};
  std::atomic<bool> resume_pending{false};
};

}  // namespace

CancelCall StartBodyCall(
    upstream::HttpClient* client, upstream::HttpRequest request,
    std::function<void(const upstream::HttpResponseHead&)> on_head,
    std::function<void(absl::Status, const upstream::HttpResponseHead&,
                       std::string)>
        done) {
  struct BodyCall {
    upstream::HttpResponseHead head;
    std::string body;
    // Set on the event thread when the body passed kMaxAnswerBody; the id
    // is known once Start returned (the body may come before that).
    std::atomic<bool> too_large{false};
    std::atomic<upstream::CallId> id{0};
  };
  auto call = std::make_shared<BodyCall>();
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [call, on_head = std::move(on_head)](
                          const upstream::HttpResponseHead& h) {
    call->head = h;
    if (on_head) on_head(h);
  };
  callbacks.on_body = [call, client](absl::string_view bytes) {
    if (call->too_large) return false;
    if (call->body.size() + bytes.size() > kMaxAnswerBody) {
      // No more of it is read or kept: the call ends as cancelled.
      call->too_large = true;
      std::string().swap(call->body);  // its memory goes at once
      if (upstream::CallId id = call->id.load(); id != 0) client->Cancel(id);
      return false;
    }
    call->body.append(bytes.data(), bytes.size());
    return true;
  };
  callbacks.on_done = [call, done = std::move(done)](absl::Status status) {
    if (call->too_large) {
      // A bad upstream (502): another candidate may serve.
      status = status::UpstreamError(
          absl::StrCat("the upstream's answer is larger than ",
                       kMaxAnswerBody, " bytes"),
          502);
    }
    done(std::move(status), call->head, std::move(call->body));
  };
  upstream::CallId id = client->Start(std::move(request), std::move(callbacks));
  call->id = id;
  if (call->too_large) client->Cancel(id);  // it came before the id
  return [client, id]() { client->Cancel(id); };
}

CancelCall StartSseCall(upstream::HttpClient* client,
                        upstream::HttpRequest request,
                        SseCallHandlers handlers, ChunkSink* sink) {
  auto state = std::make_shared<SseCallState>();
  state->handlers = std::move(handlers);
  state->sink = sink;
  SseCallState* raw = state.get();
  state->parser = std::make_unique<http::SseParser>(
      [raw](const http::SseParser::Event& event) {
        if (!raw->handlers.on_event(event)) raw->open = false;
      });
  std::weak_ptr<SseCallState> weak = state;
  sink->Start(std::make_shared<host::FunctionFlow>([client, weak] {
    std::shared_ptr<SseCallState> alive = weak.lock();
    if (alive == nullptr) return;
    upstream::CallId id = alive->id.load();
    if (id == 0) {
      alive->resume_pending = true;
      if ((id = alive->id.load()) == 0) return;
    }
    client->Resume(id);
  }));
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [state](const upstream::HttpResponseHead& head) {
    state->head = head;
    if (state->handlers.on_head) state->handlers.on_head(head);
  };
  callbacks.on_body = [state](absl::string_view bytes) {
    if (state->head.status != 200) {
      if (state->error_body.size() < kMaxErrorBody) {
        state->error_body.append(bytes.data(), bytes.size());
      }
      return true;
    }
    state->open = true;
    state->parser->Feed(bytes);
    return state->open;
  };
  callbacks.on_done = [state](absl::Status status) {
    state->sink->Done(state->handlers.finish(std::move(status), state->head,
                                             state->error_body));
  };
  upstream::CallId id = client->Start(std::move(request), std::move(callbacks));
  state->id = id;
  if (state->resume_pending.exchange(false)) client->Resume(id);
  return [client, id]() { client->Cancel(id); };
}

}  // namespace sluice::adapters
