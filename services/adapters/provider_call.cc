#include "services/adapters/provider_call.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

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
  auto head = std::make_shared<upstream::HttpResponseHead>();
  auto body = std::make_shared<std::string>();
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [head, on_head = std::move(on_head)](
                          const upstream::HttpResponseHead& h) {
    *head = h;
    if (on_head) on_head(h);
  };
  callbacks.on_body = [body](absl::string_view bytes) {
    body->append(bytes.data(), bytes.size());
    return true;
  };
  callbacks.on_done = [head, body, done = std::move(done)](absl::Status status) {
    done(std::move(status), *head, std::move(*body));
  };
  upstream::CallId id = client->Start(std::move(request), std::move(callbacks));
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
