#include "services/adapters/openai_provider.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "libs/codec/openai_codec.h"
#include "libs/http/sse_parser.h"
#include "libs/status/errors.h"
#include "services/adapters/call_timeouts.h"
#include "services/adapters/provider_call.h"
#include "services/adapters/upstream_error.h"

namespace sluice::adapters {
namespace {

// What one streamed call keeps between its events (all on the client's
// event thread, so no locking inside).
struct StreamState {
  ChunkSink* sink;
  std::string provider;
  std::string route;
  bool saw_done = false;
  absl::Status failure;  // a malformed or error chunk
};

// The provider answered 200 with something that is not a chat completion:
// its fault, not the client's (the codec's INVALID_ARGUMENT would read as a
// bad request), and worth a retry elsewhere.
absl::Status UnreadableAnswer(absl::string_view provider,
                              const absl::Status& parse_error) {
  return status::UpstreamError(
      status::RedactSecrets(absl::StrCat("upstream ", provider,
                                         " sent an answer that is not a chat "
                                         "completion: ",
                                         parse_error.message())),
      502);
}

}  // namespace

OpenAIProvider::OpenAIProvider(const sluice::v1::ProviderConfig& config,
                               upstream::HttpClient* client)
    : config_(config),
      url_(absl::StrCat(absl::StripSuffix(config.base_url(), "/"),
                        "/chat/completions")),
      keys_(ApiKeyRing::FromEnv(config)),
      client_(client) {}

std::string OpenAIProvider::Route(
    const sluice::v1::AdapterRequest& request) const {
  return absl::StrCat(config_.name(), "/", request.upstream_model());
}

upstream::HttpRequest OpenAIProvider::BuildRequest(
    const sluice::v1::AdapterRequest& request, bool stream,
    absl::Time deadline, const std::optional<ApiKeyRing::Key>& key) const {
  upstream::HttpRequest http;
  http.url = url_;
  http.headers = {
      {"content-type", "application/json"},
      {"accept", stream ? "text/event-stream" : "application/json"}};
  if (key.has_value()) {
    http.headers.emplace_back("authorization",
                              absl::StrCat("Bearer ", key->value));
  }
  http.body = codec::WriteChatRequest(request.request(),
                                      request.upstream_model(), stream);
  ApplyTimeouts(config_.timeouts(), stream, deadline, http);
  return http;
}

CancelCall OpenAIProvider::Complete(const host::CallContextPtr& context,
                                    const sluice::v1::AdapterRequest& request,
                                    CompleteCallback done) {
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  return StartBodyCall(
      client_, BuildRequest(request, /*stream=*/false, context->deadline(), key),
      RestKeyOn429(keys_, key),
      [done = std::move(done), provider = config_.name(),
       route = Route(request)](absl::Status status,
                               const upstream::HttpResponseHead& head,
                               std::string body) {
        if (!status.ok()) return done(status);
        if (head.status < 200 || head.status > 299) {
          return done(UpstreamHttpError(provider, head, body, absl::Now()));
        }
        absl::StatusOr<sluice::v1::ChatResponse> response =
            codec::ParseChatResponse(body);
        if (!response.ok()) {
          return done(UnreadableAnswer(provider, response.status()));
        }
        response->set_route(route);
        done(std::move(response));
      });
}

CancelCall OpenAIProvider::Stream(const host::CallContextPtr& context,
                                  const sluice::v1::AdapterRequest& request,
                                  ChunkSink* sink) {
  auto state = std::make_shared<StreamState>();
  state->sink = sink;
  state->provider = config_.name();
  state->route = Route(request);
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  SseCallHandlers handlers;
  handlers.on_head = RestKeyOn429(keys_, key);
  handlers.on_event = [state](const http::SseParser::Event& event) {
    if (state->saw_done || !state->failure.ok()) return true;
    if (event.data == "[DONE]") {
      state->saw_done = true;
      return true;
    }
    absl::StatusOr<sluice::v1::ChatChunk> chunk =
        codec::ParseChatChunk(event.data);
    if (!chunk.ok()) {
      state->failure = UnreadableAnswer(state->provider, chunk.status());
      return true;
    }
    chunk->set_route(state->route);
    return state->sink->Next(*std::move(chunk));
  };
  handlers.finish = [state](absl::Status status,
                            const upstream::HttpResponseHead& head,
                            absl::string_view error_body) {
    if (!status.ok()) return status;
    if (head.status != 200) {
      return UpstreamHttpError(state->provider, head, error_body, absl::Now());
    }
    if (!state->failure.ok()) return state->failure;
    if (!state->saw_done) {
      return absl::UnavailableError(absl::StrCat(
          "upstream ", state->provider, " ended the stream without [DONE]"));
    }
    return absl::OkStatus();
  };
  return StartSseCall(
      client_, BuildRequest(request, /*stream=*/true, context->deadline(), key),
      std::move(handlers), sink);
}

}  // namespace sluice::adapters
