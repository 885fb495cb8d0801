// The parts of a chat request that the simulator answers from: an OpenAI
// (or DeepSeek) chat completion request, or an Anthropic Messages request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::sim {

enum class Api { kOpenAI, kAnthropic };

struct Message {
  std::string role;
  std::string text;  // a string content, or its text parts joined by ' '
};

struct ChatRequest {
  Api api = Api::kOpenAI;
  std::string model;
  std::string system;  // Anthropic's top-level `system` (string or blocks)
  std::vector<Message> messages;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  // Thinking mode: a model whose id contains "reasoner", or
  // `"thinking":{"type":"enabled"}` (DeepSeek and Anthropic).
  bool thinking = false;
  // max_completion_tokens, else max_tokens.
  std::optional<int64_t> max_tokens;
};

// InvalidArgument when the body is not JSON, has no `model` string or no
// `messages` array.
absl::StatusOr<ChatRequest> ParseChatRequest(absl::string_view body, Api api);

}  // namespace sluice::sim
