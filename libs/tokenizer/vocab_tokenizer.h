// Real token counts: llama.cpp loads a model's vocabulary only (no weights,
// milliseconds) from a GGUF file, such as the ggml-vocab-*.gguf files that
// ship with llama.cpp's source.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

 private:
  explicit VocabTokenizer(llama_model* model) : model_(model) {}
  llama_model* model_;
};

}  // namespace sluice::tokenizer
