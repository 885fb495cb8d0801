#include "libs/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "gguf.h"
#include "libs/tokenizer/codepoints.h"
#include "libs/tokenizer/narrow_text.h"
#include "libs/tokenizer/word_cache.h"
#include "llama.h"
#include "simdjson.h"

namespace sluice::tokenizer {
namespace {

// GPT-2's byte-to-character table (llama.cpp's unicode_byte_to_utf8): the
// printable Latin-1 bytes stand for themselves, the rest for U+0100 on.
std::array<uint32_t, 256> ByteCharacters() {
  std::array<uint32_t, 256> chars{};
  std::array<bool, 256> printable{};
  for (int b = 0x21; b <= 0x7E; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    chars[b] = printable[b] ? static_cast<uint32_t>(b) : next++;
  }
  return chars;
}

// The bytes a token's text stands for, or false when the text has a
// character that is no byte's (such a token never comes out of merges).
bool TokenBytes(absl::string_view text, const std::array<int, 512>& byte_of,
                std::string& bytes) {
  std::vector<uint32_t> cpts;
  DecodeUtf8LikeLlama(text, cpts);
  bytes.clear();
  for (uint32_t cpt : cpts) {
    if (cpt >= byte_of.size() || byte_of[cpt] < 0) return false;
    bytes.push_back(static_cast<char>(byte_of[cpt]));
  }
  return !bytes.empty();
}

// isspace() in the C locale, which llama.cpp strips around special tokens.
bool CSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::atomic<uint32_t> next_serial{1};

struct GgufCloser {
  void operator()(gguf_context* context) const { gguf_free(context); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(
    const llama_vocab* vocab, const std::string& gguf_path) {
  if (llama_vocab_type(vocab) != LLAMA_VOCAB_TYPE_BPE) {
    return absl::UnimplementedError("not a byte-level BPE vocabulary");
  }
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  std::unique_ptr<gguf_context, GgufCloser> gguf(
      gguf_init_from_file(gguf_path.c_str(), params));
  if (gguf == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", gguf_path));
  }
  auto string_value = [&](const char* key) -> std::string {
    const int64_t at = gguf_find_key(gguf.get(), key);
    if (at < 0 || gguf_get_kv_type(gguf.get(), at) != GGUF_TYPE_STRING)
      return "";
    return gguf_get_val_str(gguf.get(), at);
  };
  if (string_value("tokenizer.ggml.model") != "gpt2") {
    return absl::UnimplementedError("not a GPT-2 style vocabulary");
  }
  std::unique_ptr<BpeTokenizer> out(new BpeTokenizer());
  out->serial_ = next_serial.fetch_add(1);
  out->piece_serial_ = out->serial_;
  absl::StatusOr<std::unique_ptr<PreTokenizer>> pre =
      PreTokenizer::ForName(string_value("tokenizer.ggml.pre"));
  if (!pre.ok()) return pre.status();
  out->pre_ = *std::move(pre);
  // With ignore_merges a word that is a token is that token, but a piece of
  // a word is merged: their cached tokens must not meet.
  if (out->pre_->ignore_merges()) out->piece_serial_ = next_serial.fetch_add(1);

  const std::array<uint32_t, 256> byte_chars = ByteCharacters();
  std::array<int, 512> byte_of;
  byte_of.fill(-1);
  for (int b = 0; b < 256; ++b) byte_of[byte_chars[b]] = b;

  // Token texts as llama.cpp keeps them; a text listed twice is the later
  // id, as in llama.cpp's token_to_id.
  const int32_t n_tokens = llama_vocab_n_tokens(vocab);
  absl::flat_hash_map<std::string, int32_t> by_text;
  by_text.reserve(static_cast<size_t>(n_tokens));
  std::string bytes;
  std::vector<int32_t> special_ids;
  for (int32_t id = 0; id < n_tokens; ++id) {
    const std::string text = llama_vocab_get_text(vocab, id);
    by_text[text] = id;
    const llama_token_attr attr = llama_vocab_get_attr(vocab, id);
    if (attr & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_USER_DEFINED |
                LLAMA_TOKEN_ATTR_UNKNOWN)) {
      special_ids.push_back(id);
      out->longest_token_bytes_ =
          std::max(out->longest_token_bytes_, text.size());
    }
  }
  for (const auto& [text, id] : by_text) {
    if (!TokenBytes(text, byte_of, bytes)) continue;
    out->by_bytes_[bytes] = id;
    out->longest_token_bytes_ =
        std::max(out->longest_token_bytes_, bytes.size());
  }
  // A byte that is no token (tokenizers trained on UTF-8 often lack 0xC0,
  // 0xC1, 0xF5..0xFF) stays a symbol of its own; llama.cpp then looks up
  // each byte of its character's UTF-8 as a one-byte text, which is almost
  // never a token, so the byte is dropped.
  std::string missing_chars[256];
  for (int b = 0; b < 256; ++b) {
    auto it = out->by_bytes_.find(std::string(1, static_cast<char>(b)));
    if (it != out->by_bytes_.end()) {
      out->byte_tokens_[b] = it->second;
      continue;
    }
    out->byte_tokens_[b] = -1 - b;
    AppendUtf8(byte_chars[static_cast<size_t>(b)], missing_chars[b]);
    for (char byte : missing_chars[b]) {
      auto one = by_text.find(std::string(1, byte));
      if (one != by_text.end()) out->byte_fallbacks_[b].push_back(one->second);
    }
  }
  auto is_missing_char = [&](const std::string& text) {
    for (const std::string& missing : missing_chars) {
      if (!missing.empty() && missing == text) return true;
    }
    return false;
  };

  // Merges "left right" by rank; the first of a repeated pair wins, as in
  // llama.cpp's bpe_ranks.emplace.
  const int64_t merges_key = gguf_find_key(gguf.get(), "tokenizer.ggml.merges");
  if (merges_key < 0 ||
      gguf_get_kv_type(gguf.get(), merges_key) != GGUF_TYPE_ARRAY ||
      gguf_get_arr_type(gguf.get(), merges_key) != GGUF_TYPE_STRING) {
    return absl::UnimplementedError("no merges");
  }
  const size_t n_merges = gguf_get_arr_n(gguf.get(), merges_key);
  absl::Status table =
      out->merges_.Init(static_cast<size_t>(n_tokens), n_merges);
  if (!table.ok()) return table;
  // By token, the lowest rank of a merge taking it as its left operand and
  // as its right one (character_tokens.h).
  std::vector<int32_t> min_left_rank(static_cast<size_t>(n_tokens), INT32_MAX);
  std::vector<int32_t> min_right_rank(static_cast<size_t>(n_tokens), INT32_MAX);
  for (size_t i = 0; i < n_merges; ++i) {
    const absl::string_view merge = gguf_get_arr_str(gguf.get(), merges_key, i);
    const size_t space = merge.find(' ', 1);
    if (space == absl::string_view::npos) continue;
    const std::string left(merge.substr(0, space));
    const std::string right(merge.substr(space + 1));
    auto l = by_text.find(left);
    auto r = by_text.find(right);
    // Words start as bytes and merges here only make tokens, so a merge of
    // a text that is neither a token nor a lone byte never applies; one of a
    // lone byte that is no token would (we keep llama.cpp's for that).
    if (is_missing_char(left) || is_missing_char(right)) {
      return absl::UnimplementedError(
          absl::StrCat("merge \"", merge, "\" joins a byte that is no token"));
    }
    if (l == by_text.end() || r == by_text.end()) continue;
    auto merged = by_text.find(left + right);
    if (merged == by_text.end()) {
      return absl::UnimplementedError(
          absl::StrCat("merge \"", merge, "\" makes a text that is no token"));
    }
    out->merges_.Add(l->second, r->second, static_cast<int32_t>(i),
                     merged->second);
    int32_t& left_least = min_left_rank[static_cast<size_t>(l->second)];
    left_least = std::min(left_least, static_cast<int32_t>(i));
    int32_t& right_least = min_right_rank[static_cast<size_t>(r->second)];
    right_least = std::min(right_least, static_cast<int32_t>(i));
  }

  out->characters_.Build(out->byte_tokens_, out->merges_, min_left_rank,
                         min_right_rank);
  for (const auto& [bytes, id] : out->by_bytes_) out->crossings_.Add(bytes);
  out->lone_characters_.assign(0x10000, LoneCharacter{{0, 0, 0}, 0});
  TokenSink lone;
  for (uint32_t cpt = 0x80; cpt < 0x10000; ++cpt) {
    std::string character;
    AppendUtf8(cpt, character);
    lone.Reset();
    out->MergeSmallWord(character, lone);
    if (lone.size() > 3) continue;
    LoneCharacter& entry = out->lone_characters_[cpt];
    std::copy(lone.data(), lone.data() + lone.size(), entry.tokens);
    entry.count = static_cast<uint8_t>(lone.size());
  }

  // Special tokens in llama.cpp's order: the same std::sort on the same
  // sequence, so equal lengths tie the same way.
  std::sort(special_ids.begin(), special_ids.end(), [&](int32_t a, int32_t b) {
    return std::strlen(llama_vocab_get_text(vocab, a)) >
           std::strlen(llama_vocab_get_text(vocab, b));
  });
  for (int32_t id : special_ids) {
    const llama_token_attr attr = llama_vocab_get_attr(vocab, id);
    out->specials_.push_back(Special{
        llama_vocab_get_text(vocab, id), id,
        (attr & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) != 0,
        (attr & LLAMA_TOKEN_ATTR_LSTRIP) != 0,
        (attr & LLAMA_TOKEN_ATTR_RSTRIP) != 0});
  }
  for (uint32_t s = 0; s < out->specials_.size(); ++s) {
    const std::string& text = out->specials_[s].text;
    if (text.empty()) continue;
    const auto first = static_cast<uint8_t>(text[0]);
    out->special_lead_[first] = true;
    if (text.size() == 1) {
      out->short_specials_[first].push_back(s);
    } else {
      out->specials_by_prefix_[static_cast<uint16_t>(
                                   first | static_cast<uint8_t>(text[1]) << 8)]
          .push_back(s);
    }
  }
  for (int b = 0; b < 256; ++b) {
    if (!out->special_lead_[b]) continue;
    out->only_lead_ = out->only_lead_ == -1 ? b : -2;
  }
  if (out->only_lead_ < 0) out->only_lead_ = -1;
  out->bos_ = llama_vocab_bos(vocab);
  out->eos_ = llama_vocab_eos(vocab);
  out->add_bos_ = llama_vocab_get_add_bos(vocab);
  out->add_eos_ = llama_vocab_get_add_eos(vocab);
  if ((out->add_bos_ && out->bos_ < 0) || (out->add_eos_ && out->eos_ < 0)) {
    return absl::UnimplementedError("BOS/EOS wanted but missing");
  }
  return out;
}

absl::Status BpeTokenizer::Tokenize(absl::string_view text, bool add_special,
                                    bool parse_special,
                                    std::vector<int32_t>& out) const {
  if (add_special && add_bos_) out.push_back(bos_);
  // Where llama.cpp's tokenizer_st_partition would place special tokens:
  // it takes them longest first, each at its leftmost occurrences that lie
  // wholly in text no earlier one took. Occurrences are found here in one
  // pass over the text (candidates by their first two bytes), then settled
  // in llama.cpp's order.
  std::vector<Found> found = FindSpecials(text, parse_special);
  if (found.empty()) {
    absl::Status status = TokenizeText(text, out);
    if (!status.ok()) return status;
  } else {
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
      return a.special != b.special ? a.special < b.special : a.pos < b.pos;
    });
    enum : uint8_t { kFree = 0, kToken = 1, kStripped = 2 };
    std::vector<uint8_t> taken(text.size(), kFree);
    std::vector<Found> placed;
    for (const Found& f : found) {
      const Special& special = specials_[f.special];
      const size_t end = f.pos + special.text.size();
      if (std::any_of(taken.begin() + static_cast<ptrdiff_t>(f.pos),
                      taken.begin() + static_cast<ptrdiff_t>(end),
                      [](uint8_t t) { return t != kFree; })) {
        continue;
      }
      std::fill(taken.begin() + static_cast<ptrdiff_t>(f.pos),
                taken.begin() + static_cast<ptrdiff_t>(end), kToken);
      placed.push_back(f);
      if (special.lstrip) {
        for (size_t i = f.pos;
             i > 0 && taken[i - 1] == kFree && CSpace(text[i - 1]); --i) {
          taken[i - 1] = kStripped;
        }
      }
      if (special.rstrip) {
        for (size_t i = end;
             i < text.size() && taken[i] == kFree && CSpace(text[i]); ++i) {
          taken[i] = kStripped;
        }
      }
    }
    std::sort(placed.begin(), placed.end(),
              [](const Found& a, const Found& b) { return a.pos < b.pos; });
    // Free runs are text fragments; stripped white space is dropped.
    auto text_until = [&](size_t from, size_t to) -> absl::Status {
      size_t pos = from;
      while (pos < to) {
        if (taken[pos] != kFree) {
          ++pos;
          continue;
        }
        size_t end = pos;
        while (end < to && taken[end] == kFree) ++end;
        absl::Status status = TokenizeText(text.substr(pos, end - pos), out);
        if (!status.ok()) return status;
        pos = end;
      }
      return absl::OkStatus();
    };
    size_t cursor = 0;
    for (const Found& f : placed) {
      absl::Status status = text_until(cursor, f.pos);
      if (!status.ok()) return status;
      out.push_back(specials_[f.special].id);
      cursor = f.pos + specials_[f.special].text.size();
    }
    absl::Status status = text_until(cursor, text.size());
    if (!status.ok()) return status;
  }
  if (add_special && add_eos_) out.push_back(eos_);
  return absl::OkStatus();
}

std::vector<BpeTokenizer::Found> BpeTokenizer::FindSpecials(
    absl::string_view text, bool parse_special) const {
  std::vector<Found> found;
  if (specials_.empty()) return found;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  auto offer = [&](uint32_t s, size_t pos) {
    const Special& special = specials_[s];
    if (special.control && !parse_special) return;
    if (text.substr(pos, special.text.size()) == special.text) {
      found.push_back({s, pos});
    }
  };
  for (size_t pos = 0; pos < size; ++pos) {
    if (only_lead_ >= 0) {
      // Most vocabularies' special tokens all start with '<': memchr.
      const void* at = std::memchr(bytes + pos, only_lead_, size - pos);
      if (at == nullptr) break;
      pos = static_cast<size_t>(static_cast<const uint8_t*>(at) - bytes);
    }
    const uint8_t first = bytes[pos];
    if (!special_lead_[first]) continue;
    for (uint32_t s : short_specials_[first]) offer(s, pos);
    if (pos + 1 < size) {
      auto it = specials_by_prefix_.find(
          static_cast<uint16_t>(first | bytes[pos + 1] << 8));
      if (it != specials_by_prefix_.end()) {
        for (uint32_t s : it->second) offer(s, pos);
      }
    }
  }
  return found;
}

absl::Status BpeTokenizer::TokenizeText(absl::string_view text,
                                        std::vector<int32_t>& out) const {
  if (text.empty()) return absl::OkStatus();
  std::string normalized;
  // Valid UTF-8 (checked at gigabytes a second) is canonical; what is not
  // may still be (llama.cpp reads surrogates as codepoints).
  if (!simdjson::validate_utf8(text.data(), text.size()) &&
      !IsCanonicalUtf8(text)) {
    // llama.cpp reads the text as codepoints and writes them back: bytes it
    // cannot read become U+FFFD, overlong forms their short form.
    std::vector<uint32_t> cpts;
    DecodeUtf8LikeLlama(text, cpts);
    normalized.reserve(text.size() + 16);
    for (uint32_t cpt : cpts) {
      if (!AppendUtf8(cpt, normalized)) {
        return absl::InvalidArgumentError(
            "text holds a UTF-8 sequence past U+10FFFF");
      }
    }
    text = normalized;
  }
  // A long text whose pre-tokenizer isolates every newline first (the
  // deepseek ones) is two independent halves split at a newline: the
  // second is tokenized on a helper thread meanwhile.
  if (split_long_texts_ && pre_->isolates_newlines() &&
      text.size() >= kParallelBytes) {
    const size_t middle = text.find('\n', text.size() / 2);
    if (middle != absl::string_view::npos) {
      std::vector<int32_t> second;
      std::thread helper;
      try {
        helper = std::thread(
            [&] { TokenizeCanonical(text.substr(middle), second); });
      } catch (const std::system_error&) {
        // No thread to be had: the second half after the first, here.
      }
      TokenizeCanonical(text.substr(0, middle), out);
      if (helper.joinable()) {
        helper.join();
      } else {
        TokenizeCanonical(text.substr(middle), second);
      }
      out.insert(out.end(), second.begin(), second.end());
      return absl::OkStatus();
    }
  }
  TokenizeCanonical(text, out);
  return absl::OkStatus();
}

// Inlined into the loops over a text's words and a long word's pieces.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void BpeTokenizer::MergeShort(
    absl::string_view word, uint32_t owner, bool whole_first, WordCache& cache,
    TokenSink& out) const {
  const WordKey key = WordKey::Of(word);
  const uint64_t hash = key.Hash();
  if (cache.Find(owner, key, hash, out)) return;
  MergeAndStore(word, owner, key, hash, whole_first, cache, out);
}

// Most words are short and cached: that path is inlined into the loops
// over a text's words, the rest is out of line.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void BpeTokenizer::TokenizeWord(
    absl::string_view word, WordCache& cache, TokenSink& out) const {
  if (word.size() == 1) {
    Emit(byte_tokens_[static_cast<uint8_t>(word[0])], out);
    return;
  }
  if (word.size() > WordCache::kMaxWord) {
    TokenizeLongWord(word, cache, out);
    return;
  }
  MergeShort(word, serial_, pre_->ignore_merges(), cache, out);
}

void BpeTokenizer::TokenizeCanonical(absl::string_view text,
                                     std::vector<int32_t>& out) const {
  // Reused on this thread: no allocation or clearing per text.
  thread_local std::vector<uint32_t> ends;
  thread_local TokenSink sink;
  ends.clear();
  sink.Reset();
  WordCache& cache = WordCache::ForThisThread();
  thread_local NarrowText narrow;
  if (IsAscii(text)) {
    // Split as bytes: the ends are byte offsets.
    pre_->SplitBytes(reinterpret_cast<const uint8_t*>(text.data()),
                     static_cast<uint32_t>(text.size()), nullptr, 0, ends);
    uint32_t begin = 0;
    for (const uint32_t end : ends) {
      TokenizeWord(text.substr(begin, end - begin), cache, sink);
      begin = end;
    }
  } else if (narrow.Assign(text)) {
    // Nearly ASCII: split as bytes, one for each character.
    pre_->SplitBytes(narrow.bytes(), narrow.size(), narrow.high(),
                     narrow.distinct(), ends);
    size_t begin = 0;
    for (const uint32_t end : ends) {
      const size_t byte_end = narrow.OffsetOf(end);
      TokenizeWord(text.substr(begin, byte_end - begin), cache, sink);
      begin = byte_end;
    }
  } else {
    // Room for the codepoints and their byte offsets, kept on this thread
    // up to two megabytes.
    constexpr size_t kKeptRoom = 256 * 1024;
    thread_local std::unique_ptr<uint32_t[]> kept(new uint32_t[2 * kKeptRoom]);
    std::unique_ptr<uint32_t[]> own;
    uint32_t* cpts = kept.get();
    size_t room = kKeptRoom;
    if (text.size() > kKeptRoom) {
      own.reset(new uint32_t[2 * text.size()]);
      cpts = own.get();
      room = text.size();
    }
    uint32_t* offsets = cpts + room;
    const size_t count = DecodeCanonicalUtf8(text, cpts, offsets);
    pre_->Split(cpts, static_cast<uint32_t>(count), ends);
    uint32_t begin = 0;
    for (const uint32_t end : ends) {
      const size_t byte_end = end < count ? offsets[end] : text.size();
      TokenizeWord(text.substr(begin, byte_end - begin), cache, sink);
      begin = static_cast<uint32_t>(byte_end);
    }
  }
  out.insert(out.end(), sink.data(), sink.data() + sink.size());
}

void BpeTokenizer::TokenizeLongWord(absl::string_view word, WordCache& cache,
                                    TokenSink& out) const {
  if (pre_->ignore_merges()) {
    auto it = by_bytes_.find(word);
    if (it != by_bytes_.end()) {
      out.Push(it->second);
      return;
    }
  }
  MergeInPieces(word, cache, out);
}

void BpeTokenizer::MergeAndStore(absl::string_view word, uint32_t owner,
                                 const WordKey& key, uint64_t hash,
                                 bool whole_first, WordCache& cache,
                                 TokenSink& out) const {
  const size_t before = out.size();
  auto whole = whole_first ? by_bytes_.find(word) : by_bytes_.end();
  if (whole != by_bytes_.end()) {
    out.Push(whole->second);
  } else {
    MergeSmallWord(word, out);
  }
  cache.Store(owner, key, hash, out.data() + before, out.size() - before);
}

void BpeTokenizer::MergeInPieces(absl::string_view word, WordCache& cache,
                                 TokenSink& out) const {
  const auto* bytes = reinterpret_cast<const uint8_t*>(word.data());
  size_t piece = 0;   // where the piece in progress starts
  uint32_t left = 0;  // the character before, 0 when it is ASCII
  // A piece that is one character below U+10000 (`left` then) has its
  // tokens in a table; the others go through the cache.
  auto merge_piece = [&](size_t end, bool lone) {
    const absl::string_view text = word.substr(piece, end - piece);
    if (lone && left < lone_characters_.size()) {
      const LoneCharacter& character = lone_characters_[left];
      if (character.count > 0) {
        out.Append(character.tokens, character.count);
        return;
      }
    }
    if (text.size() > WordCache::kMaxWord) {
      MergeLongWord(text, out);
    } else {
      MergeShort(text, piece_serial_, false, cache, out);
    }
  };
  bool lone = false;  // the piece in progress is one character, `left`
  for (size_t at = 0; at < word.size();) {
    const uint8_t lead = bytes[at];
    if (lead < 0x80) {
      left = 0;
      lone = false;
      ++at;
      continue;
    }
    uint32_t length = 0;
    const uint32_t cpt = DecodeCanonicalAt(bytes + at, length);
    if (left != 0 && !crossings_.MayJoin(left, cpt, bytes[at - 1], lead)) {
      merge_piece(at, lone);
      piece = at;
      lone = true;
    } else {
      lone = at == piece;
    }
    left = cpt;
    at += length;
  }
  merge_piece(word.size(), lone);
}

int BpeTokenizer::InitialSymbols(absl::string_view word, int32_t* ids) const {
  return characters_.Symbols(word, byte_tokens_, merges_, ids);
}

// Merges a word of at most WordCache::kMaxWord bytes by scanning for the
// lowest-ranked pair (the leftmost on a tie, as llama.cpp's queue orders
// them): quadratic, and fastest for short words.
void BpeTokenizer::MergeSmallWord(absl::string_view word,
                                  TokenSink& out) const {
  int32_t ids[64];
  int32_t ranks[64];   // rank of the pair (i, i + 1) in the current list
  int32_t merged[64];  // what that pair becomes
  int count = InitialSymbols(word, ids);
  auto rate = [&](int i) {
    const int32_t rank = i + 1 < count ? merges_.Rank(ids[i], ids[i + 1]) : -1;
    ranks[i] = rank < 0 ? INT32_MAX : rank;
    merged[i] = rank < 0 ? -1 : merges_.Merged(rank);
  };
  for (int i = 0; i < count; ++i) rate(i);
  // The symbols stay packed at the front of ids; a merge shifts the rest.
  while (count > 1) {
    int best = -1;
    int32_t best_rank = INT32_MAX;
    for (int i = 0; i + 1 < count; ++i) {
      if (ranks[i] < best_rank) {
        best_rank = ranks[i];
        best = i;
      }
    }
    if (best < 0) break;
    ids[best] = merged[best];
    for (int i = best + 1; i + 1 < count; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --count;
    if (best > 0) rate(best - 1);
    rate(best);
  }
  for (int i = 0; i < count; ++i) Emit(ids[i], out);
}

// The same merges with a heap, for long words (a run of CJK text or of one
// character can be one word of thousands of bytes).
void BpeTokenizer::MergeLongWord(absl::string_view word, TokenSink& out) const {
  struct Pair {
    int32_t rank;
    int left;
    int32_t left_id;
    int32_t right_id;
    // The lowest rank first; on a tie the leftmost, as llama.cpp's queue.
    bool operator<(const Pair& other) const {
      return rank != other.rank ? rank > other.rank : left > other.left;
    }
  };
  // Reused across calls on this thread: no allocation per word.
  thread_local std::vector<int32_t> ids;
  thread_local std::vector<int> prev;
  thread_local std::vector<int> next;
  thread_local std::vector<Pair> heap;
  ids.resize(word.size());
  prev.resize(word.size());
  next.resize(word.size());
  heap.clear();
  const int n = InitialSymbols(word, ids.data());
  for (int i = 0; i < n; ++i) {
    prev[static_cast<size_t>(i)] = i - 1;
    next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  // The first pairs are looked up in a row: each one's cache line is asked
  // for a few pairs ahead, so the misses overlap.
  constexpr int kAhead = 8;
  for (int i = 0; i + 1 < n; ++i) {
    if (i + kAhead + 1 < n) {
      merges_.Prefetch(ids[static_cast<size_t>(i + kAhead)],
                       ids[static_cast<size_t>(i + kAhead + 1)]);
    }
    const int32_t a = ids[static_cast<size_t>(i)];
    const int32_t b = ids[static_cast<size_t>(i) + 1];
    const int32_t rank = merges_.Rank(a, b);
    if (rank >= 0) heap.push_back({rank, i, a, b});
  }
  std::make_heap(heap.begin(), heap.end());
  auto offer = [&](int left) {
    if (left < 0) return;
    const int right = next[static_cast<size_t>(left)];
    if (right < 0) return;
    const int32_t a = ids[static_cast<size_t>(left)];
    const int32_t b = ids[static_cast<size_t>(right)];
    const int32_t rank = merges_.Rank(a, b);
    if (rank >= 0) {
      heap.push_back({rank, left, a, b});
      std::push_heap(heap.begin(), heap.end());
    }
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Pair pair = heap.back();
    heap.pop_back();
    const size_t left = static_cast<size_t>(pair.left);
    if (ids[left] != pair.left_id) continue;  // stale
    const int right = next[left];
    if (right < 0 || ids[static_cast<size_t>(right)] != pair.right_id) continue;
    ids[left] = merges_.Merged(pair.rank);
    ids[static_cast<size_t>(right)] = INT32_MIN;  // merged away
    next[left] = next[static_cast<size_t>(right)];
    if (next[left] >= 0) prev[static_cast<size_t>(next[left])] = pair.left;
    offer(prev[left]);
    offer(pair.left);
  }
  for (int i = 0; i >= 0; i = next[static_cast<size_t>(i)]) {
    Emit(ids[static_cast<size_t>(i)], out);
  }
}

}  // namespace sluice::tokenizer
