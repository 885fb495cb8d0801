// The simulator's answers in the Anthropic Messages wire format.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "tools/upstream-sim/answer.h"
#include "tools/upstream-sim/request.h"
#include "tools/upstream-sim/script.h"

namespace sluice::sim {

// A message object: a thinking block when the request thinks, a text block;
// stop_reason end_turn or max_tokens.
std::string AnthropicMessage(const ChatRequest& request, const Answer& answer);

// message_start, then per block content_block_start, *_delta per token,
// content_block_stop (a ping after the first block starts), message_delta
// with stop_reason and the output token count, message_stop.
void EncodeAnthropicStream(const ChatRequest& request, const Answer& answer,
                           ScriptBuilder& script);

// An event whose data is not JSON.
std::string AnthropicMalformedEvent();

// {"type":"error","error":{"type","message"}}.
std::string AnthropicError(absl::string_view type, absl::string_view message);

}  // namespace sluice::sim
