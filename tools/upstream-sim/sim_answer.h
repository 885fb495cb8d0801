// What the simulator answers: a deterministic function of the model and the
// messages, so a test can compute the expected answer by asking a second
// simulator. Token counting rule: a token is one whitespace-separated word;
// a prompt costs its words plus 4 per message (role and framing).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rapidjson/document.h"

namespace sluice::sim {

struct SimAnswer {
  std::string id_hex;                  // 16 hex digits of the request hash
  std::vector<std::string> pieces;     // content tokens, leading spaces kept
  std::vector<std::string> reasoning;  // reasoning tokens (reasoner models)
  std::string finish_reason;           // "stop" or "length"
  int64_t prompt_tokens = 0;
  std::string prompt_key;              // identifies the prompt, for cache hits

  int64_t completion_tokens() const {
    return static_cast<int64_t>(pieces.size() + reasoning.size());
  }
  std::string Content() const;
  std::string Reasoning() const;
};

// `body` is an OpenAI chat request or an Anthropic messages request.
SimAnswer MakeAnswer(const rapidjson::Document& body, bool anthropic);

// Splits text into tokens: words, each but the first with its leading space.
std::vector<std::string> Tokens(const std::string& text);

}  // namespace sluice::sim
