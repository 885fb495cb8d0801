// Prompt token counts of chat requests with real vocabularies: the messages
// are rendered with one of llama.cpp's built-in chat templates ("chatml",
// "llama3", "deepseek3", ...) and the result tokenized with a vocabulary
// file ggml-vocab-NAME.gguf, so template special tokens count as the model
// sees them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "libs/tokenizer/vocab_tokenizer.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::tokenizer {

struct PromptCount {
  // Tokens of the whole rendered prompt, ending with the assistant prefix.
  int64_t prompt_tokens = 0;
  // What the template adds: prompt_tokens minus the tokens of the bare
  // message texts (never negative).
  int64_t template_tokens = 0;
  // The vocabulary counted with (the default one when none was named).
  std::string tokenizer;
};

// The folder with ggml-vocab-NAME.gguf files: $SLUICE_VOCAB_DIR if set,
// else where the llama.cpp build installed them.
std::string DefaultVocabDir();

// What a prompt's token count is known to lie within, without counting.
struct PromptBounds {
  int64_t lower = 0;
  int64_t upper = 0;
};

class TokenCounter {
 public:
  explicit TokenCounter(std::string vocab_dir,
                        std::string default_tokenizer = "llama-bpe");

  // Tokens of the request's messages rendered with the built-in template
  // `chat_template` (empty: "chatml") and an assistant prefix. An empty
  // `tokenizer` is the default one. A vocabulary with no file is NOT_FOUND;
  // a template llama.cpp does not have is INVALID_ARGUMENT.
  // Thread-safe: each vocabulary is loaded once per process, on first use
  // by any counter, and kept.
  absl::StatusOr<PromptCount> CountPrompt(
      const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
      absl::string_view chat_template);

  // The same without template_tokens (0): one tokenizer pass instead of
  // two, for callers that need the prompt's count only (routing).
  absl::StatusOr<PromptCount> CountPromptOnly(
      const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
      absl::string_view chat_template);

  // An upper bound of CountPrompt()'s prompt_tokens, without a tokenizer:
  // the bytes of the rendered prompt, plus two (a BOS token, and the space
  // SentencePiece puts in front), plus the bytes of turns the template
  // leaves out. Byte-level BPE and byte-fallback SentencePiece never make
  // more tokens than bytes, and a special token is one token for several
  // bytes. INVALID_ARGUMENT for a template llama.cpp does not have.
  static absl::StatusOr<int64_t> PromptTokenBound(
      const sluice::v1::ChatRequest& request, absl::string_view chat_template);

  // Both bounds of CountPrompt()'s prompt_tokens without counting: the
  // upper one of PromptTokenBound, and the rendered prompt's bytes over the
  // most bytes one token of the vocabulary stands for (byte-level BPE makes
  // no token of more bytes than its longest). NOT_FOUND for a vocabulary
  // with no file, INVALID_ARGUMENT for an unknown template.
  absl::StatusOr<PromptBounds> PromptTokenBounds(
      const sluice::v1::ChatRequest& request, absl::string_view tokenizer,
      absl::string_view chat_template);

  // Tokens of plain text (special-token text counts as plain text).
  absl::StatusOr<int64_t> CountText(absl::string_view text,
                                    absl::string_view tokenizer);

  // Loads a vocabulary now, e.g. at boot: a large one (qwen2's 150k tokens)
  // takes hundreds of milliseconds, which the first request would pay.
  absl::Status Preload(absl::string_view tokenizer);

 private:
  // One vocabulary, loaded once by whichever caller gets there first; other
  // vocabularies stay usable meanwhile.
  struct Slot {
    absl::once_flag once;
    std::unique_ptr<VocabTokenizer> vocabulary;
    absl::Status status;
  };

  absl::StatusOr<const VocabTokenizer*> Vocabulary(absl::string_view name);
  absl::StatusOr<PromptCount> Count(const sluice::v1::ChatRequest& request,
                                    absl::string_view tokenizer,
                                    absl::string_view chat_template,
                                    bool split_template);

  const std::string vocab_dir_;
  const std::string default_tokenizer_;
};

}  // namespace sluice::tokenizer
