// What the simulator answers: a deterministic function of the request, so a
// test can predict it (or ask a second simulator for it).
//
// Token rule (all usage numbers follow from it):
//   - a token is one whitespace-separated word;
//   - prompt_tokens = the words of every message's text (and of Anthropic's
//     `system`), plus 4 per message (the system prompt counts as one);
//   - completion_tokens = reasoning tokens + content tokens.
// The content is "Echo: " followed by the first 16 words of the last user
// message and 2 to 9 filler words chosen by a hash of the request (model,
// system, roles and texts, thinking mode). Thinking requests first reason
// "Thinking about: <same words> ...". A max_tokens cap cuts the reasoning
// first, then the content, and makes finish_reason "length".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/upstream-sim/request.h"

namespace sluice::sim {

struct Answer {
  std::string id;  // 16 hex digits, the same for the same request
  std::vector<std::string> reasoning;  // tokens, each but the first with its
  std::vector<std::string> content;    // leading space
  std::string finish_reason;           // "stop" or "length"
  int64_t prompt_tokens = 0;
  // Identifies the exact prompt (model, system, messages): the simulated
  // prompt cache hits when it has seen the key before.
  std::string prompt_key;

  int64_t reasoning_tokens() const {
    return static_cast<int64_t>(reasoning.size());
  }
  int64_t completion_tokens() const {
    return static_cast<int64_t>(reasoning.size() + content.size());
  }
  std::string ReasoningText() const;
  std::string ContentText() const;
};

// Token counts of one answer as reported in `usage`.
struct Usage {
  int64_t prompt_tokens = 0;
  int64_t cache_hit_tokens = 0;  // DeepSeek's prompt_cache_hit_tokens
  int64_t reasoning_tokens = 0;
  int64_t completion_tokens = 0;
  // False: only prompt, completion and total tokens, without the cached and
  // reasoning details (as vLLM and llama-server report usage).
  bool details = true;
};

Answer MakeAnswer(const ChatRequest& request);

// Pads the content with filler words until the answer has `tokens`
// completion tokens (finish_reason stays "stop").
void FillAnswer(int64_t tokens, Answer& answer);

// Keeps the first `tokens` completion tokens (reasoning first) and makes
// finish_reason "length" if that removed any.
void CapAnswer(int64_t tokens, Answer& answer);

// Words of `text`, each but the first with one leading space.
std::vector<std::string> SplitTokens(absl::string_view text);

}  // namespace sluice::sim
