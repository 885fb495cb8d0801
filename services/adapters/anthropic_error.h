// Anthropic's error answers → statuses. Anthropic's "overloaded" (HTTP 529,
// or an overloaded_error event mid-stream) becomes a retryable UNAVAILABLE
// that keeps the type overloaded_error and tells clients 503; other errors
// map as every provider's do (upstream_error.h, status::UpstreamError).
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/upstream/http_client.h"

namespace sluice::adapters {

// A non-2xx answer whose body is {"type":"error","error":{"type","message"}}.
absl::Status AnthropicHttpError(absl::string_view provider,
                                const upstream::HttpResponseHead& head,
                                absl::string_view body, absl::Time now);

// The data of an `event: error` inside a 200 stream.
absl::Status AnthropicStreamError(absl::string_view provider,
                                  absl::string_view data);

}  // namespace sluice::adapters
