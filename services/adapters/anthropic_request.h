// Our ChatRequest (OpenAI's shape) → an Anthropic Messages request body.
//   - system and developer messages → the top-level `system`;
//   - user/assistant turns → content blocks: text, images (image_url with a
//     data: URL → a base64 image, an http(s) URL → a url image), assistant
//     tool_calls → tool_use; a `tool` message → a user turn holding a
//     tool_result; consecutive turns of one role are merged;
//   - max_completion_tokens, else max_tokens, else kDefaultMaxTokens
//     (Anthropic requires it); stop → stop_sequences; temperature, top_p,
//     stream; user → metadata.user_id;
//   - tools (OpenAI function tools) → {name, description, input_schema};
//     tool_choice auto/none/required/{function} → auto/none/any/tool;
//   - extra_json members we did not write ourselves (e.g. `thinking`,
//     `top_k`) are passed through.
// Dropped, as Anthropic has no equivalent: seed, n, presence/frequency
// penalties, response_format, metadata, assistant reasoning_content
// (Anthropic needs the thinking block's signature, which we do not keep).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::adapters {

inline constexpr int kDefaultMaxTokens = 4096;

// INVALID_ARGUMENT (param named) for what Anthropic cannot take: a content
// part other than text or image, tools that are not function tools, a
// tool_choice we cannot map, or malformed tools/tool_choice JSON.
absl::StatusOr<std::string> WriteAnthropicRequest(
    const sluice::v1::ChatRequest& request, absl::string_view upstream_model);

}  // namespace sluice::adapters
