// OpenAI's chat completion JSON ↔ our protos: requests from clients,
// requests to OpenAI-compatible upstreams, and their answers both ways.
// Parsers never crash on any input: bad input is an INVALID_ARGUMENT status
// naming the parameter, as OpenAI's API does.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::codec {

// A client's request body.
absl::StatusOr<sluice::v1::ChatRequest> ParseChatRequest(
    absl::string_view json);

// A request that arrived as a proto (the gRPC Gateway), checked with the
// same rules and in the same words as ParseChatRequest (raw JSON fields
// parsed and depth-limited, extra fields never shadowing modeled ones).
absl::StatusOr<sluice::v1::ChatRequest> CheckChatRequest(
    const sluice::v1::ChatRequest& request);

// The body to send an OpenAI-compatible upstream: `upstream_model` replaces
// the model, usage is always asked for when streaming, and fields we do not
// model (extra_json) are passed through.
std::string WriteChatRequest(const sluice::v1::ChatRequest& request,
                             absl::string_view upstream_model);
// The same with `stream` in place of the request's own (no copy of it).
std::string WriteChatRequest(const sluice::v1::ChatRequest& request,
                             absl::string_view upstream_model, bool stream);

// A non-streamed answer, in OpenAI's shape.
std::string WriteChatResponse(const sluice::v1::ChatResponse& response);

// One SSE data payload. With `include_usage_field`, ordinary chunks carry
// "usage":null and the usage chunk its usage, as OpenAI does for
// stream_options.include_usage. A chunk with an error becomes an error body.
std::string WriteChatChunk(const sluice::v1::ChatChunk& chunk,
                           bool include_usage_field);

// An upstream's answers. An {"error":{...}} body is an error status that
// keeps the upstream's message, type and code.
absl::StatusOr<sluice::v1::ChatResponse> ParseChatResponse(
    absl::string_view json);
absl::StatusOr<sluice::v1::ChatChunk> ParseChatChunk(absl::string_view json);

}  // namespace sluice::codec
