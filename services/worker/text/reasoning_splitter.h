// Splits a reasoning model's streamed output into its reasoning (the
// <think>...</think> block that opens the output) and its content (the rest),
// the way DeepSeek R1, QwQ and Qwen3 write them. A tag split across pieces is
// held until it is whole.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sluice::worker {

class ReasoningSplitter {
 public:
  struct Parts {
    std::string reasoning;
    std::string content;
  };

  // `open` and `close` must not be empty. `starts_in_reasoning`: the prompt
  // already ended with the open tag (the chat template's generation prompt
  // wrote "<think>\n"), so the output starts inside the reasoning block.
  explicit ReasoningSplitter(bool starts_in_reasoning,
                             std::string open = "<think>",
                             std::string close = "</think>");

  // Only an open tag at the very start of the output (after whitespace)
  // opens reasoning; one later is content. After the close tag, whitespace
  // before the first content character is dropped.
  Parts Add(absl::string_view text);

  // At the end of the stream: the held text (a reasoning block never closed
  // stays reasoning; a partial open tag is content).
  Parts Flush();

 private:
  enum class State {
    kStart,       // Before any non-whitespace: may open reasoning.
    kReasoning,   // Inside the block; held_ may end in part of `close`.
    kAfterClose,  // Dropping whitespace after the close tag.
    kContent,     // Everything is content.
  };

  const std::string open_;
  const std::string close_;
  State state_;
  std::string held_;
};

}  // namespace sluice::worker
