#include "libs/tokenizer/vocab_tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "llama.h"

namespace sluice::tokenizer {
namespace {

// llama.cpp logs model loading at length; keep errors only.
void QuietLog(ggml_log_level level, const char* text, void*) {
  if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(QuietLog, nullptr);
    llama_backend_init();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<VocabTokenizer>> VocabTokenizer::Load(
    const std::string& gguf_path) {
  InitOnce();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(gguf_path.c_str(), params);
  if (model == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot load vocabulary from ", gguf_path));
  }
  std::unique_ptr<VocabTokenizer> tokenizer(new VocabTokenizer(model));
  // UNIMPLEMENTED (a vocabulary we do not reproduce) keeps llama.cpp's;
  // SLUICE_TOKENIZER=llama keeps it for every vocabulary (comparisons).
  const char* forced = std::getenv("SLUICE_TOKENIZER");
  absl::StatusOr<std::unique_ptr<BpeTokenizer>> fast =
      forced != nullptr && std::string_view(forced) == "llama"
          ? absl::UnimplementedError("SLUICE_TOKENIZER=llama")
          : BpeTokenizer::Create(llama_model_get_vocab(model), gguf_path);
  if (fast.ok()) {
    tokenizer->fast_ = *std::move(fast);
    tokenizer->longest_token_bytes_ = tokenizer->fast_->longest_token_bytes();
  } else {
    tokenizer->fast_status_ = fast.status();
    // A token's text is never shorter than what it stands for (SentencePiece
    // writes a space as three bytes, a byte token as six).
    const llama_vocab* vocab = llama_model_get_vocab(model);
    for (int32_t id = 0; id < llama_vocab_n_tokens(vocab); ++id) {
      tokenizer->longest_token_bytes_ =
          std::max(tokenizer->longest_token_bytes_,
                   std::strlen(llama_vocab_get_text(vocab, id)));
    }
  }
  return tokenizer;
}

VocabTokenizer::~VocabTokenizer() { llama_model_free(model_); }

absl::StatusOr<std::vector<int32_t>> VocabTokenizer::Tokenize(
    absl::string_view text, bool add_special, bool parse_special) const {
  if (fast_ == nullptr)
    return TokenizeWithLlama(text, add_special, parse_special);
  std::vector<int32_t> tokens;
  tokens.reserve(text.size() / 3 + 4);
  absl::Status status =
      fast_->Tokenize(text, add_special, parse_special, tokens);
  if (!status.ok()) return status;
  return tokens;
}

absl::StatusOr<std::vector<int32_t>> VocabTokenizer::TokenizeWithLlama(
    absl::string_view text, bool add_special, bool parse_special) const {
  if (text.size() > INT_MAX / 2)
    return absl::InvalidArgumentError("text too long");
  const llama_vocab* vocab = llama_model_get_vocab(model_);
  std::vector<int32_t> tokens(text.size() + 8);
  // llama.cpp throws on a UTF-8 sequence past U+10FFFF.
  try {
    int32_t n = llama_tokenize(
        vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
        static_cast<int32_t>(tokens.size()), add_special, parse_special);
    if (n < 0 && n != INT32_MIN) {
      tokens.resize(static_cast<size_t>(-n));
      n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()),
                         tokens.data(), static_cast<int32_t>(tokens.size()),
                         add_special, parse_special);
    }
    if (n < 0) return absl::InternalError("tokenization failed");
    tokens.resize(static_cast<size_t>(n));
    return tokens;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("text cannot be tokenized: ", e.what()));
  }
}

}  // namespace sluice::tokenizer
