// Anthropic Messages calls over the shared HttpClient; see
// anthropic_provider.h.
#include "services/adapters/anthropic_provider.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/http/sse_parser.h"
#include "services/adapters/anthropic_error.h"
#include "services/adapters/anthropic_request.h"
#include "services/adapters/anthropic_response.h"
#include "services/adapters/anthropic_stream.h"
#include "services/adapters/call_timeouts.h"

namespace sluice::adapters {
namespace {

// What one streamed call keeps between curl callbacks (all on the client's
// event thread, so no locking inside).
struct StreamState {
  ChunkSink* sink;
  std::string provider;
  upstream::HttpResponseHead head;
  std::string error_body;
  std::unique_ptr<AnthropicStreamDecoder> decoder;
  std::unique_ptr<http::SseParser> parser;
};

}  // namespace

AnthropicProvider::AnthropicProvider(const sluice::v1::ProviderConfig& config,
                                     upstream::HttpClient* client)
    : config_(config),
      url_(
          absl::StrCat(absl::StripSuffix(config.base_url(), "/"), "/messages")),
      keys_(ApiKeyRing::FromEnv(config)),
      client_(client) {}

std::string AnthropicProvider::Route(
    const sluice::v1::AdapterRequest& request) const {
  return absl::StrCat(config_.name(), "/", request.upstream_model());
}

absl::StatusOr<upstream::HttpRequest> AnthropicProvider::BuildRequest(
    const sluice::v1::AdapterRequest& request, bool stream,
    const std::optional<ApiKeyRing::Key>& key) const {
  sluice::v1::ChatRequest body = request.request();
  body.set_stream(stream);
  absl::StatusOr<std::string> json =
      WriteAnthropicRequest(body, request.upstream_model());
  if (!json.ok()) return json.status();
  upstream::HttpRequest http;
  http.url = url_;
  http.headers = {{"content-type", "application/json"},
                  {"accept", stream ? "text/event-stream" : "application/json"},
                  {"anthropic-version", kAnthropicVersion}};
  if (key.has_value()) http.headers.emplace_back("x-api-key", key->value);
  http.body = *std::move(json);
  ApplyTimeouts(config_.timeouts(), stream, http);
  return http;
}

void AnthropicProvider::Complete(const sluice::v1::AdapterRequest& request,
                                 CompleteCallback done) {
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  absl::StatusOr<upstream::HttpRequest> http =
      BuildRequest(request, /*stream=*/false, key);
  if (!http.ok()) return done(http.status());
  auto head = std::make_shared<upstream::HttpResponseHead>();
  auto body = std::make_shared<std::string>();
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [head, rest = RestKeyOn429(keys_, key)](
                          const upstream::HttpResponseHead& h) {
    *head = h;
    rest(h);
  };
  callbacks.on_body = [body](absl::string_view bytes) {
    body->append(bytes.data(), bytes.size());
  };
  callbacks.on_done = [head, body, done = std::move(done),
                       provider = config_.name(),
                       route = Route(request)](absl::Status status) {
    if (!status.ok()) return done(status);
    absl::Time now = absl::Now();
    if (head->status < 200 || head->status > 299) {
      return done(AnthropicHttpError(provider, *head, *body, now));
    }
    absl::StatusOr<sluice::v1::ChatResponse> response =
        ParseAnthropicMessage(*body, now);
    if (response.ok()) response->set_route(route);
    done(std::move(response));
  };
  client_->Start(*std::move(http), std::move(callbacks));
}

CancelStream AnthropicProvider::Stream(
    const sluice::v1::AdapterRequest& request, ChunkSink* sink) {
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  absl::StatusOr<upstream::HttpRequest> http =
      BuildRequest(request, /*stream=*/true, key);
  if (!http.ok()) {
    sink->OnEnd(http.status());
    return [] {};
  }
  auto state = std::make_shared<StreamState>();
  state->sink = sink;
  state->provider = config_.name();
  state->decoder = std::make_unique<AnthropicStreamDecoder>(
      config_.name(), Route(request), absl::Now(),
      [sink](sluice::v1::ChatChunk chunk) { sink->OnChunk(std::move(chunk)); });
  AnthropicStreamDecoder* decoder = state->decoder.get();
  state->parser = std::make_unique<http::SseParser>(
      [decoder](const http::SseParser::Event& event) {
        decoder->OnEvent(event);
      });
  upstream::HttpCallbacks callbacks;
  callbacks.on_head = [state, rest = RestKeyOn429(keys_, key)](
                          const upstream::HttpResponseHead& h) {
    state->head = h;
    rest(h);
  };
  callbacks.on_body = [state](absl::string_view bytes) {
    if (state->head.status == 200) {
      state->parser->Feed(bytes);
    } else if (state->error_body.size() < 64 * 1024) {
      state->error_body.append(bytes.data(), bytes.size());
    }
  };
  callbacks.on_done = [state](absl::Status status) {
    if (status.ok() && state->head.status != 200) {
      status = AnthropicHttpError(state->provider, state->head,
                                  state->error_body, absl::Now());
    } else if (status.ok() || state->decoder->done() ||
               state->decoder->failed()) {
      // The decoder's verdict wins over a broken connection: a finished
      // answer stands, and an error event says more than curl's message.
      status = state->decoder->EndStatus();
    }
    state->sink->OnEnd(status);
  };
  upstream::HttpClient* client = client_;
  upstream::CallId id = client->Start(*std::move(http), std::move(callbacks));
  return [client, id] { client->Cancel(id); };
}

}  // namespace sluice::adapters
