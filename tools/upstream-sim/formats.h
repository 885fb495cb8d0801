// The simulator's answers in each provider's wire format.
#pragma once

#include <string>

#include "tools/upstream-sim/sim_answer.h"

namespace sluice::sim {

constexpr int64_t kCreated = 1700000000;

struct Usage {
  int64_t prompt = 0;
  int64_t cache_hit = 0;  // DeepSeek: prompt tokens served from its cache
  int64_t reasoning = 0;
  int64_t completion = 0;
};

// OpenAI / DeepSeek.
std::string OpenAIResponse(const std::string& model, const SimAnswer& answer,
                           const Usage& usage);
// One chunk; `delta_json` is the delta object's JSON text.
std::string OpenAIChunk(const std::string& model, const SimAnswer& answer,
                        const std::string& delta_json,
                        const std::string& finish_reason, bool usage_null);
std::string OpenAIUsageChunk(const std::string& model, const SimAnswer& answer,
                             const Usage& usage);
std::string OpenAIError(const std::string& type, const std::string& message,
                        const std::string& code);
// {"content": piece} / {"reasoning_content": piece, "content": null}.
std::string ContentDelta(const std::string& piece);
std::string ReasoningDelta(const std::string& piece);

// Anthropic Messages.
std::string AnthropicResponse(const std::string& model, const SimAnswer& answer);
std::string AnthropicError(const std::string& type, const std::string& message);
std::string AnthropicEvent(const std::string& event, const std::string& data_json);

}  // namespace sluice::sim
