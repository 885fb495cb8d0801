// The simulator's answers in the OpenAI chat completions wire format, with
// DeepSeek's additions (reasoning_content, prompt_cache_hit/miss_tokens).
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "tools/upstream-sim/answer.h"
#include "tools/upstream-sim/request.h"
#include "tools/upstream-sim/script.h"

namespace sluice::sim {

// Every answer says it was created at this time, so answers are repeatable.
constexpr int64_t kCreated = 1700000000;

// A chat.completion object.
std::string OpenAICompletion(const ChatRequest& request, const Answer& answer,
                             const Usage& usage);

// The chat.completion.chunk events of a stream: the role chunk, one chunk
// per token, the finish chunk, the usage chunk when the request asked for it,
// then [DONE].
void EncodeOpenAIStream(const ChatRequest& request, const Answer& answer,
                        const Usage& usage, ScriptBuilder& script);

// An event whose data is not JSON.
std::string OpenAIMalformedEvent();

// {"error":{"message","type","param":null,"code"}}; an empty code is null.
std::string OpenAIError(absl::string_view type, absl::string_view message,
                        absl::string_view code);

}  // namespace sluice::sim
