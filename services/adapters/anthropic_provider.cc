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
#include "services/adapters/provider_call.h"

namespace sluice::adapters {

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
    absl::Time deadline, const std::optional<ApiKeyRing::Key>& key) const {
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
  ApplyTimeouts(config_.timeouts(), stream, deadline, http);
  return http;
}

CancelCall AnthropicProvider::Complete(const host::CallContextPtr& context,
                                       const sluice::v1::AdapterRequest& request,
                                       CompleteCallback done) {
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  absl::StatusOr<upstream::HttpRequest> http =
      BuildRequest(request, /*stream=*/false, context->deadline(), key);
  if (!http.ok()) {
    done(http.status());
    return nullptr;
  }
  return StartBodyCall(
      client_, *std::move(http), RestKeyOn429(keys_, key),
      [done = std::move(done), provider = config_.name(),
       route = Route(request)](absl::Status status,
                               const upstream::HttpResponseHead& head,
                               std::string body) {
        if (!status.ok()) return done(status);
        absl::Time now = absl::Now();
        if (head.status < 200 || head.status > 299) {
          return done(AnthropicHttpError(provider, head, body, now));
        }
        absl::StatusOr<sluice::v1::ChatResponse> response =
            ParseAnthropicMessage(body, now);
        if (response.ok()) response->set_route(route);
        done(std::move(response));
      });
}

CancelCall AnthropicProvider::Stream(const host::CallContextPtr& context,
                                     const sluice::v1::AdapterRequest& request,
                                     ChunkSink* sink) {
  std::optional<ApiKeyRing::Key> key = keys_->Pick(absl::Now());
  absl::StatusOr<upstream::HttpRequest> http =
      BuildRequest(request, /*stream=*/true, context->deadline(), key);
  if (!http.ok()) {
    sink->Done(http.status());
    return nullptr;
  }
  // Whether the sink's window stayed open over one event's chunks.
  auto open = std::make_shared<bool>(true);
  auto decoder = std::make_shared<AnthropicStreamDecoder>(
      config_.name(), Route(request), absl::Now(),
      [sink, open](sluice::v1::ChatChunk chunk) {
        if (!sink->Next(std::move(chunk))) *open = false;
      });
  SseCallHandlers handlers;
  handlers.on_head = RestKeyOn429(keys_, key);
  handlers.on_event = [decoder, open](const http::SseParser::Event& event) {
    *open = true;
    decoder->OnEvent(event);
    return *open;
  };
  handlers.finish = [decoder, provider = config_.name()](
                        absl::Status status,
                        const upstream::HttpResponseHead& head,
                        absl::string_view error_body) {
    if (status.ok() && head.status != 200) {
      return AnthropicHttpError(provider, head, error_body, absl::Now());
    }
    // The decoder's verdict wins over a broken connection: a finished
    // answer stands, and an error event says more than curl's message.
    if (status.ok() || decoder->done() || decoder->failed()) {
      return decoder->EndStatus();
    }
    return status;
  };
  return StartSseCall(client_, *std::move(http), std::move(handlers), sink);
}

}  // namespace sluice::adapters
