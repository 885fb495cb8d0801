// Real token counts: llama.cpp loads a model's vocabulary only (no weights,
// milliseconds) from a GGUF file, such as the ggml-vocab-*.gguf files that
// ship with llama.cpp's source. Byte-level BPE vocabularies whose
// pre-tokenizer we have are tokenized by our BpeTokenizer (the same tokens,
// tens of times faster); the others by llama.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/tokenizer/bpe_tokenizer.h"

struct llama_model;

namespace sluice::tokenizer {

class VocabTokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<VocabTokenizer>> Load(
      const std::string& gguf_path);
  ~VocabTokenizer();

  // Thread-safe (the vocabulary is read-only once loaded). `add_special`
  // adds the vocabulary's BOS/EOS where it asks for them; `parse_special`
  // reads special-token text such as "<|im_start|>" as that one token
  // (otherwise it is tokenized as plain text).
  absl::StatusOr<std::vector<int32_t>> Tokenize(
      absl::string_view text, bool add_special = false,
      bool parse_special = false) const;

  // The same with llama.cpp's own tokenizer: the reference our fast one is
  // checked against, and the speed it is compared with.
  absl::StatusOr<std::vector<int32_t>> TokenizeWithLlama(
      absl::string_view text, bool add_special = false,
      bool parse_special = false) const;

  // See BpeTokenizer::set_split_long_texts (not thread-safe: before use).
  void set_split_long_texts(bool split) {
    if (fast_ != nullptr) fast_->set_split_long_texts(split);
  }

  // Whether Tokenize runs our BpeTokenizer (else llama.cpp's), and why not.
  bool fast() const { return fast_ != nullptr; }
  const absl::Status& fast_status() const { return fast_status_; }

  // The most bytes of text one token stands for (at least 1): a text of n
  // bytes is at least n / longest_token_bytes() tokens.
  size_t longest_token_bytes() const { return longest_token_bytes_; }

 private:
  explicit VocabTokenizer(llama_model* model) : model_(model) {}
  llama_model* model_;
  std::unique_ptr<BpeTokenizer> fast_;
  absl::Status fast_status_;
  size_t longest_token_bytes_ = 1;
};

}  // namespace sluice::tokenizer
