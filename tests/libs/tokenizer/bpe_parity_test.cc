// Our BpeTokenizer against llama.cpp's tokenizer on the same vocabulary:
// llama.cpp's own test vectors, and a differential fuzz of random Unicode,
// code, CJK, emoji, long white-space and digit runs, special-token text and
// invalid UTF-8. Every vocabulary we tokenize ourselves is checked.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gguf.h"
#include "gtest/gtest.h"
#include "libs/tokenizer/codepoints.h"
#include "libs/tokenizer/narrow_text.h"
#include "libs/tokenizer/vocab_tokenizer.h"
#include "tests/libs/tokenizer/fuzz_text.h"

namespace sluice::tokenizer {
namespace {

// The byte-level BPE vocabularies of llama.cpp's bundle that we tokenize
// ourselves (the others stay with llama.cpp's tokenizer).
const std::vector<std::string>& FastVocabularies() {
  static const auto* names = new std::vector<std::string>{
      "gpt-2",   "mpt",          "llama-bpe",      "qwen2",
      "qwen35",  "deepseek-llm", "deepseek-coder", "starcoder",
      "refact",  "command-r",    "falcon",         "aquila",
      "gpt-neox"};
  return *names;
}

size_t NarrowTextLimit() { return NarrowText::kMaxDistinct; }

std::string VocabPath(const std::string& name) {
  return absl::StrCat(SLUICE_LLAMA_MODELS, "/ggml-vocab-", name, ".gguf");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Escaped(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

class BpeParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = VocabTokenizer::Load(VocabPath(GetParam()));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    tokenizer_ = *std::move(loaded);
    ASSERT_TRUE(tokenizer_->fast())
        << GetParam()
        << " fell back to llama.cpp: " << tokenizer_->fast_status();
    // A special token of this vocabulary, to join fuzz strings with.
    for (const char* candidate :
         {"<|endoftext|>", "</s>", "<｜end▁of▁sentence｜>", "<|end_of_text|>",
          "<EOS_TOKEN>", "<|im_end|>"}) {
      auto tokens = tokenizer_->Tokenize(candidate, false, true);
      if (tokens.ok() && tokens->size() == 1) {
        separator_ = candidate;
        break;
      }
    }
    ASSERT_FALSE(separator_.empty()) << "no special token to join with";
  }

  // True when both tokenizers agree on `text`; reports the first few that
  // do not.
  bool Agrees(const std::string& text, bool add_special, bool parse_special) {
    auto ours = tokenizer_->Tokenize(text, add_special, parse_special);
    auto theirs =
        tokenizer_->TokenizeWithLlama(text, add_special, parse_special);
    EXPECT_EQ(ours.ok(), theirs.ok()) << Escaped(text);
    if (!ours.ok() || !theirs.ok()) return ours.ok() == theirs.ok();
    if (*ours == *theirs) return true;
    if (++mismatches_ <= 5) {
      ADD_FAILURE() << GetParam() << " add_special=" << add_special
                    << " parse_special=" << parse_special << "\n  text: \""
                    << Escaped(text)
                    << "\"\n  ours:   " << ::testing::PrintToString(*ours)
                    << "\n  llama:  " << ::testing::PrintToString(*theirs);
    }
    return false;
  }

  std::unique_ptr<VocabTokenizer> tokenizer_;
  std::string separator_;
  int mismatches_ = 0;
};

// The bytes of each of a vocabulary's tokens (read from the GGUF, whose
// texts spell bytes in GPT-2's byte characters) that hold a byte of a
// character of two bytes or more.
std::vector<std::string> NonAsciiTokenBytes(const std::string& gguf_path) {
  uint32_t byte_of[512];
  std::fill(std::begin(byte_of), std::end(byte_of), 256u);
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) ||
                           (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_of[printable ? b : next++] = b;
  }
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  gguf_context* gguf = gguf_init_from_file(gguf_path.c_str(), params);
  std::vector<std::string> out;
  if (gguf == nullptr) return out;
  const int64_t key = gguf_find_key(gguf, "tokenizer.ggml.tokens");
  const size_t n = key < 0 ? 0 : gguf_get_arr_n(gguf, key);
  for (size_t i = 0; i < n; ++i) {
    std::vector<uint32_t> cpts;
    DecodeUtf8LikeLlama(gguf_get_arr_str(gguf, key, i), cpts);
    std::string bytes;
    bool ok = !cpts.empty();
    for (uint32_t cpt : cpts) {
      ok = ok && cpt < 512 && byte_of[cpt] < 256;
      if (ok) bytes.push_back(static_cast<char>(byte_of[cpt]));
    }
    bool wide = false;
    for (char c : bytes) wide = wide || static_cast<uint8_t>(c) >= 0x80;
    if (ok && wide) out.push_back(std::move(bytes));
  }
  gguf_free(gguf);
  return out;
}

// Those that stand for valid UTF-8: the vocabulary's own words in every
// script, which the differential fuzz's random codepoints rarely make.
std::vector<std::string> NonAsciiTokens(const std::string& gguf_path) {
  std::vector<std::string> out = NonAsciiTokenBytes(gguf_path);
  out.erase(
      std::remove_if(out.begin(), out.end(),
                     [](const std::string& t) { return !IsCanonicalUtf8(t); }),
      out.end());
  return out;
}

// Those that hold part of a character (a token can start or end inside
// one), completed into valid UTF-8 with a lead byte before and
// continuation bytes after.
std::vector<std::string> TokensOfPartCharacters(const std::string& gguf_path) {
  std::vector<std::string> out;
  for (const std::string& token : NonAsciiTokenBytes(gguf_path)) {
    if (IsCanonicalUtf8(token)) continue;
    auto continuation = [](char c) { return (c & 0xC0) == 0x80; };
    size_t leading = 0;
    while (leading < token.size() && continuation(token[leading])) ++leading;
    static constexpr absl::string_view kLeads[] = {"", "\xC3", "\xE4", "\xF1"};
    if (leading > 3) continue;
    std::string whole = absl::StrCat(kLeads[leading], token);
    // The last character's missing continuation bytes.
    size_t lead = whole.size();
    while (lead > 0 && continuation(whole[lead - 1])) --lead;
    if (lead > 0) {
      const auto byte = static_cast<uint8_t>(whole[lead - 1]);
      const size_t length = byte >= 0xF0   ? 4
                            : byte >= 0xE0 ? 3
                            : byte >= 0xC0 ? 2
                                           : 1;
      while (whole.size() - (lead - 1) < length) whole.push_back('\xA0');
    }
    if (IsCanonicalUtf8(whole)) out.push_back(std::move(whole));
  }
  return out;
}

// Strings of the vocabulary's own non-ASCII tokens side by side (CJK words,
// Cyrillic, accented Latin...), sometimes with a space or a punctuation
// mark between: where a character's bytes merge with its neighbours' and
// whole characters merge into words.
TEST_P(BpeParityTest, TextOfTheVocabularysOwnWordsAgrees) {
  const std::vector<std::string> words = NonAsciiTokens(VocabPath(GetParam()));
  ASSERT_GT(words.size(), 100u);
  std::mt19937_64 rng(std::hash<std::string>()(GetParam()) + 11);
  auto uniform = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const std::vector<std::string> between = {"",   "",   "",   "",   " ",
                                            "，", "。", ", ", "\n", "a"};
  int checked = 0;
  for (int batch = 0; batch < 200 && mismatches_ == 0; ++batch) {
    std::string text;
    for (int i = 0; i < 50; ++i) {
      if (i > 0) text += separator_;
      const size_t length = 1 + uniform(16);
      for (size_t w = 0; w < length; ++w) {
        text += words[uniform(words.size())];
        text += between[uniform(between.size())];
      }
      ++checked;
    }
    Agrees(text, false, true);
  }
  EXPECT_EQ(mismatches_, 0);
  EXPECT_EQ(checked, 10000);
}

// Tokens that hold part of a character, made whole, among the
// vocabulary's own words with nothing between: long words whose characters
// a token joins only through a part of one, where a long word must not be
// cut into pieces (crossing_pairs.h).
TEST_P(BpeParityTest, LongWordsWithTokensOfPartCharactersAgree) {
  const std::vector<std::string> words = NonAsciiTokens(VocabPath(GetParam()));
  const std::vector<std::string> parts =
      TokensOfPartCharacters(VocabPath(GetParam()));
  ASSERT_GT(words.size(), 100u);
  // Every byte-level vocabulary of the bundle has such tokens.
  ASSERT_FALSE(parts.empty()) << "no token holds part of a character";
  std::mt19937_64 rng(std::hash<std::string>()(GetParam()) + 13);
  auto uniform = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  int checked = 0;
  for (int batch = 0; batch < 100 && mismatches_ == 0; ++batch) {
    std::string text;
    for (int i = 0; i < 50; ++i) {
      if (i > 0) text += separator_;
      for (int w = 0; w < 12; ++w) {
        text += uniform(2) == 0 ? parts[uniform(parts.size())]
                                : words[uniform(words.size())];
      }
      ++checked;
    }
    Agrees(text, false, true);
  }
  EXPECT_EQ(mismatches_, 0);
  EXPECT_EQ(checked, 5000);
}

// English with characters that are not ASCII here and there, of every
// kind the pre-tokenizers treat apart (letters, marks, digits, white space,
// punctuation, symbols, emoji), drawn from a pool of 128 (the most that
// such text is split as bytes, narrow_text.h) and of 129 (decoded as
// codepoints).
TEST_P(BpeParityTest, NearlyAsciiTextAgrees) {
  const std::vector<uint32_t> kinds = {
      0x00E9, 0x00FC, 0x0161, 0x0430,  0x03B1,  0x05D0, 0x0627,   // letters
      0x0301, 0x0308, 0x093F,                                     // marks
      0x0663, 0x0967, 0xFF13, 0x00B2,                             // digits
      0x00A0, 0x2003, 0x3000, 0x2028,  0x0085,                    // spaces
      0x2019, 0x201C, 0x201D, 0x2014,  0x2026,  0x00BF,           // punctuation
      0x20AC, 0x00A9, 0x2192, 0x1F600, 0x1F44D, 0x200D, 0x4E2D};  // symbols
  for (const size_t pool_size : {NarrowTextLimit(), NarrowTextLimit() + 1}) {
    std::vector<uint32_t> pool = kinds;
    for (uint32_t cpt = 0x0100; pool.size() < pool_size; ++cpt) {
      pool.push_back(cpt);  // Latin Extended letters, to fill the pool
    }
    std::mt19937_64 rng(std::hash<std::string>()(GetParam()) + pool_size);
    auto uniform = [&](size_t n) {
      return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> words = {
        "the", " quick", " brown", "  fox",  "'s",   " don't",
        "\n",  "\n\n",   "  ",     " 12345", "3.14", ",",
        ".",   " (x)",   "\t",     "I'LL",   " -- "};
    std::string text;
    for (uint32_t cpt : pool) AppendUtf8(cpt, text);  // each one at least once
    while (text.size() < 64 * 1024) {
      if (uniform(4) == 0) {
        AppendUtf8(pool[uniform(pool.size())], text);
      } else {
        text += words[uniform(words.size())];
      }
    }
    EXPECT_TRUE(Agrees(text, false, false)) << pool_size << " characters";
  }
  EXPECT_EQ(mismatches_, 0);
}

// llama.cpp ships .inp/.out vectors for all but aquila and gpt-neox.
class BpeVectorsTest : public BpeParityTest {};

TEST_P(BpeVectorsTest, MatchesLlamaCppVectors) {
  const std::string base = VocabPath(GetParam());
  const std::string inputs_file = ReadFile(base + ".inp");
  ASSERT_FALSE(inputs_file.empty()) << base << ".inp";
  std::vector<std::string> inputs =
      absl::StrSplit(inputs_file, "\n__ggml_vocab_test__\n");
  if (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  std::vector<std::string> outputs =
      absl::StrSplit(ReadFile(base + ".out"), '\n');
  ASSERT_GE(outputs.size(), inputs.size());
  ASSERT_GT(inputs.size(), 20u);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> expected;
    for (absl::string_view t :
         absl::StrSplit(outputs[i], ' ', absl::SkipEmpty())) {
      int32_t id = 0;
      ASSERT_TRUE(absl::SimpleAtoi(t, &id)) << t;
      expected.push_back(id);
    }
    auto tokens = tokenizer_->Tokenize(inputs[i]);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    EXPECT_EQ(*tokens, expected)
        << "vector " << i << ": \"" << Escaped(inputs[i]) << "\"";
  }
}

// 100,000 random strings per vocabulary. Most are checked in batches
// joined by a special token read as special (each string is then its own
// fragment, pre-tokenized on its own, as if tokenized alone, at a fraction
// of llama.cpp's per-call cost); a share alone, with and without
// parse_special and add_special.
TEST_P(BpeParityTest, DifferentialFuzz) {
  const char* seed_env = std::getenv("SLUICE_FUZZ_SEED");
  const uint64_t seed =
      seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20261206;
  const int strings = 100000;
  FuzzText fuzz(seed ^ std::hash<std::string>()(GetParam()));
  fuzz.set_separator(separator_);
  SCOPED_TRACE(absl::StrCat("SLUICE_FUZZ_SEED=", seed));
  int checked = 0;
  int alone = 0;
  while (checked < strings && mismatches_ == 0) {
    if (checked % 20 == 0) {
      const std::string text = fuzz.Next();
      const int mode = alone++ % 4;
      Agrees(text, mode & 1, mode & 2);
      ++checked;
      continue;
    }
    std::string batch;
    for (int i = 0; i < 50; ++i) {
      if (i > 0) batch += fuzz.Separator();
      batch += fuzz.Next();
    }
    Agrees(batch, false, true);
    checked += 50;
  }
  EXPECT_EQ(mismatches_, 0);
  EXPECT_GE(checked, strings);
}

// Text and special tokens side by side, in the shapes chat templates make.
TEST_P(BpeParityTest, SpecialTokensInText) {
  const std::vector<std::string> texts = {
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi "
      "there<|im_end|>\n<|im_start|>assistant\n",
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is "
      "2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜>",
      "<s>[INST] hello [/INST] world </s>  <s>",
      "<|endoftext|><|endoftext|>x<|endoftext|>  ",
      "   <|endoftext|>   \n<unk> <pad> <mask>  </s>",
      "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>"};
  for (const std::string& text : texts) {
    for (int mode = 0; mode < 4; ++mode) {
      EXPECT_TRUE(Agrees(text, mode & 1, mode & 2)) << Escaped(text);
    }
  }
}

// A prompt-sized text (past the size from which the deepseek vocabularies
// tokenize two halves at once, split at a newline) agrees as a whole.
TEST_P(BpeParityTest, LongTextAgrees) {
  FuzzText fuzz(std::hash<std::string>()(GetParam()) + 7);
  std::string text;
  while (text.size() < 256 * 1024) {
    text += fuzz.Next();
    text += "\n";
  }
  EXPECT_TRUE(Agrees(text, true, false));
  EXPECT_EQ(mismatches_, 0);
}

// A sequence llama.cpp cannot encode back (past U+10FFFF) fails on both.
TEST_P(BpeParityTest, SequencePastUnicodeFailsLikeLlama) {
  const std::string text = "ok \xF5\x80\x80\x80 then";
  auto ours = tokenizer_->Tokenize(text);
  EXPECT_EQ(ours.status().code(), absl::StatusCode::kInvalidArgument);
  auto theirs = tokenizer_->TokenizeWithLlama(text);
  EXPECT_FALSE(theirs.ok());
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, BpeParityTest,
                         ::testing::ValuesIn(FastVocabularies()), TestName);

INSTANTIATE_TEST_SUITE_P(Vocabularies, BpeVectorsTest,
                         ::testing::Values("gpt-2", "mpt", "llama-bpe", "qwen2",
                                           "qwen35", "deepseek-llm",
                                           "deepseek-coder", "starcoder",
                                           "refact", "command-r", "falcon"),
                         TestName);

TEST(BpeTokenizerTest, OtherVocabulariesStayWithLlama) {
  for (const std::string name : {"llama-spm", "phi-3", "bert-bge", "gemma-4"}) {
    auto loaded = VocabTokenizer::Load(VocabPath(name));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_FALSE((*loaded)->fast()) << name;
    auto tokens = (*loaded)->Tokenize("Hello world");
    ASSERT_TRUE(tokens.ok());
    EXPECT_FALSE(tokens->empty());
  }
}

}  // namespace
}  // namespace sluice::tokenizer
