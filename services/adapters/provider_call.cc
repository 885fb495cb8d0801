#include "services/adapters/provider_call.h"

#include <memory>
#include <string>
#include <utility>

namespace sluice::adapters {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

// What one call keeps between curl callbacks (all on the client's event
// thread, so no locking inside).
struct SseCallState {
  SseCallHandlers handlers;
  ChunkSink* sink;
  upstream::HttpResponseHead head;
  std::string error_body;
  std::unique_ptr<http::SseParser> parser;
};

}  // namespace

void StartBodyCall(
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
  };
  callbacks.on_done = [head, body, done = std::move(done)](absl::Status status) {
    done(std::move(status), *head, std::move(*body));
  };
  client->Start(std::move(request), std::move(callbacks));
}

CancelStream StartSseCall(upstream::HttpClient* client,
                          upstream::HttpRequest request,
                          SseCallHandlers handlers, ChunkSink* sink) {
  auto state = std::make_shared<SseCallState>();
  state->handlers = std::move(handlers);
  state->sink = sink;
  state->parser =
      std::make_unique<http::SseParser>(state->handlers.on_event);
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [state](const upstream::HttpResponseHead& head) {
    state->head = head;
    if (state->handlers.on_head) state->handlers.on_head(head);
  };
  callbacks.on_body = [state](absl::string_view bytes) {
    if (state->head.status == 200) {
      state->parser->Feed(bytes);
    } else if (state->error_body.size() < kMaxErrorBody) {
      state->error_body.append(bytes.data(), bytes.size());
    }
  };
  callbacks.on_done = [state](absl::Status status) {
    state->sink->OnEnd(
        state->handlers.finish(std::move(status), state->head,
                               state->error_body));
  };
  upstream::CallId id = client->Start(std::move(request), std::move(callbacks));
  return [client, id] { client->Cancel(id); };
}

}  // namespace sluice::adapters
