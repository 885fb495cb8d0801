// A byte-level BPE tokenizer that gives llama.cpp's tokens, token for token,
// at tens of MB/s: the pre-tokenizer is a scanner instead of std::regex
// (pre_tokenizer.h), merges are looked up by token-id pair in one flat hash
// table instead of a std::map of string pairs, and special tokens are found
// in one pass over the text instead of one pass per special token.
//
// Vocabulary, token attributes and BOS/EOS come from the llama_vocab that
// llama.cpp loaded (so its fixes to attributes apply), the merges from the
// GGUF file. A vocabulary this cannot reproduce exactly (not byte-level BPE,
// a pre-tokenizer we have not written, merges that make a text that is no
// token) is UNIMPLEMENTED at Create: the caller keeps llama.cpp's tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/tokenizer/character_tokens.h"
#include "libs/tokenizer/crossing_pairs.h"
#include "libs/tokenizer/merge_table.h"
#include "libs/tokenizer/pre_tokenizer.h"
#include "libs/tokenizer/token_sink.h"

struct llama_vocab;

namespace sluice::tokenizer {

class WordCache;
struct WordKey;

class BpeTokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(
      const llama_vocab* vocab, const std::string& gguf_path);

  // Appends the tokens of `text` to `out`, as llama_tokenize(vocab, text,
  // add_special, parse_special) would. INVALID_ARGUMENT where llama.cpp
  // fails too (a 4-byte sequence past U+10FFFF). Thread-safe.
  absl::Status Tokenize(absl::string_view text, bool add_special,
                        bool parse_special, std::vector<int32_t>& out) const;

  // Whether a long text is tokenized in two halves at once where that is
  // exact (on by default; benchmarks of one thread turn it off).
  void set_split_long_texts(bool split) { split_long_texts_ = split; }

  // The most bytes of text one token stands for (special tokens included):
  // a text of n bytes is at least n / longest_token_bytes() tokens.
  size_t longest_token_bytes() const { return longest_token_bytes_; }

 private:
  struct Special {
    std::string text;
    int32_t id;
    bool control;  // control or unknown: only read when parse_special
    bool lstrip;
    bool rstrip;
  };

  struct Found {
    uint32_t special;  // index into specials_
    size_t pos;
  };

  BpeTokenizer() = default;

  // Every occurrence of a special token (control ones only when
  // parse_special), unordered.
  std::vector<Found> FindSpecials(absl::string_view text,
                                  bool parse_special) const;

  // Tokens of text that holds no special token.
  absl::Status TokenizeText(absl::string_view text,
                            std::vector<int32_t>& out) const;
  // The same for text that is canonical UTF-8 (as llama.cpp rewrites it).
  void TokenizeCanonical(absl::string_view text,
                         std::vector<int32_t>& out) const;
  // From this size a text splittable at newlines is tokenized in two halves
  // at once: milliseconds of work against a thread start of microseconds.
  static constexpr size_t kParallelBytes = 64 * 1024;
  // Tokens of one pre-tokenized word (short ones through this thread's
  // `cache`).
  void TokenizeWord(absl::string_view word, WordCache& cache,
                    TokenSink& out) const;
  // A word of more than WordCache::kMaxWord bytes.
  void TokenizeLongWord(absl::string_view word, WordCache& cache,
                        TokenSink& out) const;
  // Tokens of a word of 2 to WordCache::kMaxWord bytes, cached under
  // `owner`; `whole_first`: a word that is a token is that token.
  void MergeShort(absl::string_view word, uint32_t owner, bool whole_first,
                  WordCache& cache, TokenSink& out) const;
  // The same for a word not in the cache (its key and hash given): merged,
  // then stored.
  void MergeAndStore(absl::string_view word, uint32_t owner, const WordKey& key,
                     uint64_t hash, bool whole_first, WordCache& cache,
                     TokenSink& out) const;
  // Tokens of a long word: cut where no merge can join across
  // (crossing_pairs.h), each piece merged on its own.
  void MergeInPieces(absl::string_view word, WordCache& cache,
                     TokenSink& out) const;
  // A word's first symbols into `ids` (room for word.size()): each byte's
  // token, or one token for a character that can start whole
  // (character_tokens.h). Returns how many.
  int InitialSymbols(absl::string_view word, int32_t* ids) const;
  void MergeSmallWord(absl::string_view word, TokenSink& out) const;
  void MergeLongWord(absl::string_view word, TokenSink& out) const;
  // Appends a symbol's tokens: itself, or for a byte that is no token
  // (id -1 - byte) what llama.cpp makes of it.
  void Emit(int32_t id, TokenSink& out) const {
    if (id >= 0) {
      out.Push(id);
    } else {
      const auto& fallback = byte_fallbacks_[-1 - id];
      out.Append(fallback.data(), fallback.size());
    }
  }

  uint32_t serial_ = 0;        // tells this tokenizer's words in a WordCache
  uint32_t piece_serial_ = 0;  // and the pieces of its long words
  bool split_long_texts_ = true;
  std::unique_ptr<PreTokenizer> pre_;
  // Token ids by the bytes they stand for (tokens made of byte characters).
  absl::flat_hash_map<std::string, int32_t> by_bytes_;
  // The token of each byte, or -1 - byte for a byte that is no token.
  int32_t byte_tokens_[256] = {};
  std::vector<int32_t> byte_fallbacks_[256];
  MergeTable merges_;
  CharacterTokens characters_;
  CrossingPairs crossings_;
  // The tokens of each character below U+10000 as a piece of its own (a
  // long word of a script the vocabulary barely knows, such as CJK in
  // GPT-2's, is cut into single characters): up to three, by codepoint.
  struct LoneCharacter {
    int32_t tokens[3];
    uint8_t count;  // 0: look it up as any piece
  };
  std::vector<LoneCharacter> lone_characters_;
  // In llama.cpp's order: longest text first.
  std::vector<Special> specials_;
  // Candidates by their first byte (one-byte specials) or first two bytes.
  bool special_lead_[256] = {};
  int only_lead_ = -1;  // the one byte all special tokens start with, or -1
  std::vector<uint32_t> short_specials_[256];
  absl::flat_hash_map<uint16_t, std::vector<uint32_t>> specials_by_prefix_;
  int32_t bos_ = -1;
  int32_t eos_ = -1;
  bool add_bos_ = false;
  bool add_eos_ = false;
  size_t longest_token_bytes_ = 1;
};

}  // namespace sluice::tokenizer
