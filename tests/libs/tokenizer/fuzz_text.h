// Random text for differential tokenizer tests: words, contractions, digit
// and white-space runs (ASCII and Unicode spaces), code, CJK, emoji with
// joiners, combining marks, codepoints from every plane (unassigned and
// surrogates too), control characters, special-token look-alikes and
// invalid UTF-8 (stray continuation bytes, truncated and overlong forms).
// Never a sequence past U+10FFFF, which llama.cpp cannot tokenize.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "libs/tokenizer/codepoints.h"

namespace sluice::tokenizer {

class FuzzText {
 public:
  explicit FuzzText(uint64_t seed) : rng_(seed) {}

  // Joins strings of a batch; set by the test to one special token.
  const std::string& Separator() const { return separator_; }
  void set_separator(std::string separator) {
    separator_ = std::move(separator);
  }

  std::string Next() {
    std::string out;
    const int atoms = Uniform(0, 12);
    for (int i = 0; i < atoms; ++i) Atom(out);
    return out;
  }

 private:
  int Uniform(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng_);
  }
  uint32_t Codepoint(uint32_t low, uint32_t high) {
    return std::uniform_int_distribution<uint32_t>(low, high)(rng_);
  }
  void Put(std::string& out, uint32_t cpt) { AppendUtf8(cpt, out); }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(
        Uniform(0, static_cast<int>(items.size()) - 1))];
  }

  void Atom(std::string& out) {
    static const std::vector<std::string> kContractions = {
        "'s",  "'t",  "'re", "'ve", "'m", "'ll", "'d", "'S",
        "'LL", "'Re", "'vE", "'",   "''", "n't", "'x"};
    static const std::vector<std::string> kCode = {
        "if (x == 1) {\n    return y;\n}",
        "std::vector<int> v;",
        "#include <a.h>\n",
        "a->b",
        "x += 1;",
        "\"str\\n\"",
        "// comment\n",
        "\tdef f(self):\n\t\tpass",
        "<div class=\"a\">",
        "SELECT * FROM t;",
        "λx.x",
        "0x1F",
        "1e-9",
        "a_b_c",
        "```cpp\n",
        "=>",
        "!==",
        "::",
        "...",
        "--",
        "~~~",
        "$$",
        "@@",
        "}}}",
        "\r\n"};
    static const std::vector<std::string> kSpecials = {
        "<|endoftext|>",
        "<s>",
        "</s>",
        "<|im_start|>",
        "<|im_end|>",
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<｜begin▁of▁sentence｜>",
        "<|fim_prefix|>",
        "[INST]",
        "<unk>",
        "<pad>",
        "<mask>",
        "<|",
        "|>",
        "<",
        ">",
        "<|end",
        "<BOS_TOKEN>",
        "<|reserved_special_token_3|>",
        "<EOS_TOKEN>"};
    static const std::vector<uint32_t> kSpaces = {
        0x20,   0x09,   0x0A,   0x0D,   0x0B,   0x0C,   0x85,   0xA0,
        0x1680, 0x2000, 0x2003, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
        0x3000, 0x180E, 0x200B, 0x1C,   0x1F,   0xFEFF};
    switch (Uniform(0, 17)) {
      case 0:
      case 1: {  // a word, maybe capitalized, maybe with a leading space
        if (Uniform(0, 2) > 0) out.push_back(' ');
        const int n = Uniform(1, 12);
        for (int i = 0; i < n; ++i) {
          out.push_back(static_cast<char>((Uniform(0, 4) == 0 ? 'A' : 'a') +
                                          Uniform(0, 25)));
        }
        break;
      }
      case 2:
        out += Pick(kContractions);
        break;
      case 3: {  // digits, long runs included
        const int n = Uniform(0, 3) == 0 ? Uniform(1, 40) : Uniform(1, 5);
        if (Uniform(0, 3) == 0) out.push_back(' ');
        for (int i = 0; i < n; ++i)
          out.push_back(static_cast<char>('0' + Uniform(0, 9)));
        break;
      }
      case 4: {  // white space runs, ASCII and Unicode
        const int n = Uniform(0, 3) == 0 ? Uniform(1, 60) : Uniform(1, 4);
        for (int i = 0; i < n; ++i) {
          Put(out, Uniform(0, 2) == 0 ? Pick(kSpaces)
                                      : (Uniform(0, 1) ? 0x20 : 0x0A));
        }
        break;
      }
      case 5: {  // ASCII punctuation and symbols
        const int n = Uniform(1, 6);
        for (int i = 0; i < n; ++i) {
          static const char kPunct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
          out.push_back(kPunct[Uniform(0, sizeof(kPunct) - 2)]);
        }
        break;
      }
      case 6:
        out += Pick(kCode);
        break;
      case 7: {  // CJK, kana, Hangul, and the wide U+0800..U+4E00 range
        const int n = Uniform(1, 10);
        for (int i = 0; i < n; ++i) {
          switch (Uniform(0, 4)) {
            case 0:
              Put(out, Codepoint(0x4E00, 0x9FFF));
              break;
            case 1:
              Put(out, Codepoint(0x3040, 0x30FF));
              break;
            case 2:
              Put(out, Codepoint(0xAC00, 0xD7A3));
              break;
            case 3:
              Put(out, Codepoint(0x0800, 0x4E00));
              break;
            default:
              Put(out, Codepoint(0xFF01, 0xFF5E));
              break;  // full width
          }
        }
        break;
      }
      case 8: {  // emoji, with joiners, selectors and skin tones
        const int n = Uniform(1, 4);
        for (int i = 0; i < n; ++i) {
          Put(out, Codepoint(0x1F300, 0x1FAFF));
          if (Uniform(0, 2) == 0) Put(out, 0xFE0F);
          if (Uniform(0, 3) == 0) Put(out, Codepoint(0x1F3FB, 0x1F3FF));
          if (Uniform(0, 3) == 0) Put(out, 0x200D);
        }
        break;
      }
      case 9: {  // any codepoint of any plane, surrogates included
        const int n = Uniform(1, 4);
        for (int i = 0; i < n; ++i) {
          const int plane = Uniform(0, 3);
          Put(out, plane == 0   ? Codepoint(0x80, 0xFFFF)
                   : plane == 1 ? Codepoint(0xD800, 0xDFFF)
                                : Codepoint(0x10000, 0x10FFFF));
        }
        break;
      }
      case 10: {  // Latin, Greek, Cyrillic letters with combining marks
        const int n = Uniform(1, 8);
        for (int i = 0; i < n; ++i) {
          const int script = Uniform(0, 3);
          Put(out, script == 0   ? Codepoint(0xC0, 0x24F)
                   : script == 1 ? Codepoint(0x370, 0x3FF)
                   : script == 2 ? Codepoint(0x400, 0x4FF)
                                 : Codepoint(0x1E00, 0x1FFF));
          if (Uniform(0, 3) == 0) Put(out, Codepoint(0x300, 0x36F));
        }
        break;
      }
      case 11: {  // invalid UTF-8
        switch (Uniform(0, 5)) {
          case 0:
            out.push_back(static_cast<char>(Codepoint(0x80, 0xBF)));
            break;
          case 1:
            out.push_back(static_cast<char>(Codepoint(0xC0, 0xF4)));
            break;  // truncated lead
          case 2:
            out += "\xC0\x80";
            break;  // overlong NUL
          case 3:
            out += "\xE0\x80\xAF";
            break;  // overlong '/'
          case 4:
            out.push_back(static_cast<char>(Codepoint(0xF8, 0xFF)));
            break;
          default:
            out += "\xE2\x82";
            break;  // a cut euro sign
        }
        break;
      }
      case 12:
        out += Pick(kSpecials);
        break;
      case 13: {  // control characters and NUL
        const int n = Uniform(1, 3);
        for (int i = 0; i < n; ++i) {
          const uint32_t c = Codepoint(0, 32);
          out.push_back(static_cast<char>(c == 32 ? 0x7F : c));
        }
        break;
      }
      case 14: {  // Unicode digits and number forms
        const int n = Uniform(1, 6);
        for (int i = 0; i < n; ++i) {
          static const std::vector<uint32_t> kBases = {0x660, 0x6F0, 0x966,
                                                       0xFF10, 0x1D7CE};
          Put(out, Pick(kBases) + Codepoint(0, 9));
          if (Uniform(0, 4) == 0) Put(out, Codepoint(0x2150, 0x218B));
        }
        break;
      }
      case 15: {  // newline shapes
        static const std::vector<std::string> kNewlines = {
            "\n", "\r\n", "\r", "\n\n", " \n", "\n ", "\t\n", ".\n\n"};
        out += Pick(kNewlines);
        break;
      }
      case 16: {  // mixed-width punctuation deepseek classes look at
        static const std::vector<uint32_t> kMarks = {
            0x2018, 0x201C, 0x201F, 0x3001, 0x3002, 0xFF0C,
            0xFF1A, 0x2026, 0xB5,   0x212A, 0x2126};
        const int n = Uniform(1, 4);
        for (int i = 0; i < n; ++i) Put(out, Pick(kMarks));
        break;
      }
      default: {  // a long run of one character
        const uint32_t c =
            Uniform(0, 1) ? static_cast<uint32_t>("a-=_ \n0"[Uniform(0, 6)])
                          : Codepoint(0x4E00, 0x4E10);
        const int n = Uniform(20, 120);
        for (int i = 0; i < n; ++i) Put(out, c);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::string separator_;
};

}  // namespace sluice::tokenizer
