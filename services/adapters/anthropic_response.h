// Anthropic Messages answers → our protos (OpenAI's shape): the message
// object of a non-streamed call, and the pieces the stream decoder shares.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::adapters {

// end_turn, stop_sequence, pause_turn → stop; max_tokens,
// model_context_window_exceeded → length; tool_use → tool_calls; refusal →
// content_filter; anything else is kept as it is.
std::string FinishReasonOf(absl::string_view stop_reason);

// Adds the members of an Anthropic `usage` object that are present to
// `usage` (OpenAI-style: prompt_tokens includes cached tokens), and
// recomputes the total. Members absent from `json` leave earlier values.
void MergeAnthropicUsage(const rapidjson::Value& json,
                         sluice::v1::Usage& usage);

// A message object → a ChatResponse with one choice: text blocks → content,
// thinking blocks → reasoning_content, tool_use blocks → tool_calls (input
// as JSON text). Anthropic sends no creation time: `created` is `now`.
// UNAVAILABLE (a bad upstream answer) when the body is not a message.
absl::StatusOr<sluice::v1::ChatResponse> ParseAnthropicMessage(
    absl::string_view json, absl::Time now);

}  // namespace sluice::adapters
