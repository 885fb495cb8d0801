#include "libs/tokenizer/pre_tokenizer.h"

#include <bit>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/tokenizer/codepoints.h"

namespace sluice::tokenizer {
namespace {

constexpr uint32_t kCodepoints = 0x110000;
constexpr uint32_t kOutOfRange = 0xFFFFFFFF;

// What std::regex's \s matches in llama.cpp's regex splits: the six ASCII
// spaces (C locale), and every non-ASCII codepoint llama.cpp calls white
// space, which it rewrites to U+000B before the regex runs.
bool RegexSpace(uint32_t cpt) {
  if (cpt < 128) return cpt == ' ' || (cpt >= '\t' && cpt <= '\r');
  return (CodepointFlags(cpt) & kWhitespace) != 0;
}

// The byte llama.cpp gives a codepoint in its "collapsed" text, on which
// regexes with \p{..} run: ASCII stays, white space becomes U+000B, the
// other categories 0xD1..0xD5, anything else 0xD0.
uint8_t Collapsed(uint32_t cpt) {
  if (cpt < 128) return static_cast<uint8_t>(cpt);
  const uint16_t flags = CodepointFlags(cpt);
  if (flags & kWhitespace) return 0x0B;
  switch (flags & kCategories) {
    case kNumber:
      return 0xD1;
    case kLetter:
      return 0xD2;
    case kPunctuation:
      return 0xD3;
    case kAccentMark:
      return 0xD4;
    case kSymbol:
      return 0xD5;
    default:
      return 0xD0;
  }
}

// A set of codepoints, one bit each.
class CodepointSet {
 public:
  CodepointSet() : bits_(kCodepoints / 64, 0) {}

  bool Contains(uint32_t cpt) const {
    return cpt < kCodepoints && ((bits_[cpt >> 6] >> (cpt & 63)) & 1) != 0;
  }
  void Remember(uint32_t cpt) { bits_[cpt >> 6] |= uint64_t{1} << (cpt & 63); }
  void Forget(uint32_t cpt) { bits_[cpt >> 6] &= ~(uint64_t{1} << (cpt & 63)); }

  // A bracket expression of llama.cpp's wide-string regexes, such as
  // "[一-龥ࠀ-一가-퟿]", matched as std::wregex does: against the text
  // with non-ASCII white space rewritten to U+000B.
  static CodepointSet Bracket(absl::string_view expression) {
    std::vector<uint32_t> chars;
    DecodeUtf8LikeLlama(expression, chars);
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    // The members between '[' and ']': single codepoints and "a-b" ranges.
    const size_t last = chars.size() - 1;
    for (size_t i = 1; i < last;) {
      if (i + 2 < last && chars[i + 1] == '-') {
        ranges.emplace_back(chars[i], chars[i + 2]);
        i += 3;
      } else {
        ranges.emplace_back(chars[i], chars[i]);
        i += 1;
      }
    }
    CodepointSet set;
    bool vertical_tab = false;
    for (const auto& [low, high] : ranges) {
      for (uint32_t cpt = low; cpt <= high && cpt < kCodepoints; ++cpt) {
        set.Remember(cpt);
      }
      vertical_tab = vertical_tab || (low <= 0x0B && 0x0B <= high);
    }
    // Non-ASCII white space is seen as U+000B.
    for (uint32_t cpt = 128; cpt < kCodepoints; ++cpt) {
      if (CodepointFlags(cpt) & kWhitespace) {
        if (vertical_tab) {
          set.Remember(cpt);
        } else {
          set.Forget(cpt);
        }
      }
    }
    return set;
  }

  // A class of llama.cpp's collapsed regexes: the codepoints whose
  // collapsed byte is in `bytes`.
  static CodepointSet CollapsedBytes(absl::string_view bytes) {
    bool in[256] = {};
    for (char byte : bytes) in[static_cast<uint8_t>(byte)] = true;
    CodepointSet set;
    for (uint32_t cpt = 0; cpt < kCodepoints; ++cpt) {
      if (in[Collapsed(cpt)]) set.Remember(cpt);
    }
    return set;
  }

 private:
  std::vector<uint64_t> bits_;
};

// ASCII members of llama.cpp's collapsed categories (its k_ucat_map).
std::string AsciiRange(char low, char high) {
  std::string out;
  for (char c = low; c <= high; ++c) out.push_back(c);
  return out;
}
std::string CollapsedLetters() {
  return absl::StrCat("\xD2", AsciiRange('A', 'Z'), AsciiRange('a', 'z'));
}
std::string CollapsedNumbers() {
  return absl::StrCat("\xD1", AsciiRange('0', '9'));
}
std::string CollapsedPunctuation() {
  return absl::StrCat("\xD3", AsciiRange('!', '#'), AsciiRange('%', '*'),
                      AsciiRange(',', '/'), ":;?@[\\]_{}");
}

// The bracket expressions of llama.cpp's deepseek pre-tokenizers, as
// written there, escaped so that no editor folds a compatibility character
// (U+212A KELVIN SIGN is not "K").
constexpr absl::string_view kDeepseekLetters =
    "[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF"
    "\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D"
    "\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5"
    "\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5"
    "\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
    "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D"
    "\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4"
    "\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3"
    "\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107"
    "\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D"
    "\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184"
    "\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D"
    "\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF"
    "\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A"
    "\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB"
    "\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF"
    "\U0001E900-\U0001E943]";
constexpr absl::string_view kDeepseekPunctuation =
    "[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]";
constexpr absl::string_view kDeepseekCjk =
    "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]";

// The two kinds of text a scanner reads. `text[pos]` is the character at
// pos as stored, which compares with ASCII characters as the codepoint
// does; `text.Real(pos)` is its codepoint.
struct CodepointText {
  const uint32_t* cpts;
  uint32_t operator[](uint32_t pos) const { return cpts[pos]; }
  uint32_t Real(uint32_t pos) const { return cpts[pos]; }
};
// Bytes: ASCII, and from 0x80 one byte for each other character.
struct ByteText {
  const uint8_t* bytes;
  const uint32_t* high;  // the codepoint of byte b is high[b - 0x80]
  uint32_t operator[](uint32_t pos) const { return bytes[pos]; }
  uint32_t Real(uint32_t pos) const {
    const uint8_t byte = bytes[pos];
    return byte < 0x80 ? byte : high[byte - 0x80];
  }
};

}  // namespace

// One regex of a pre-tokenizer: cuts each word of the previous stage.
struct PreTokenizer::Stage {
  virtual ~Stage() = default;
  // Appends the ends of the words that [begin, end) of `text` is cut into.
  virtual void Cut(const CodepointText& text, uint32_t begin, uint32_t end,
                   std::vector<uint32_t>& ends) const = 0;
  virtual void Cut(const ByteText& text, uint32_t begin, uint32_t end,
                   std::vector<uint32_t>& ends) const = 0;
  // False when the stage leaves every piece of a text whole whose
  // characters are ASCII and the `count` codepoints at `high`.
  virtual bool MayCut(const uint32_t* /*high*/, size_t /*count*/) const {
    return true;
  }
};

namespace {

using Stage = PreTokenizer::Stage;

// A stage whose scanner, `Derived::CutText`, is written once for both
// kinds of text: codepoints, and bytes (most prompts are ASCII or nearly),
// which need no decoding and whose flags are a few cache lines of the
// table.
template <typename Derived>
class StageOf : public Stage {
 public:
  void Cut(const CodepointText& text, uint32_t begin, uint32_t end,
           std::vector<uint32_t>& ends) const override {
    static_cast<const Derived*>(this)->CutText(text, begin, end, ends);
  }
  void Cut(const ByteText& text, uint32_t begin, uint32_t end,
           std::vector<uint32_t>& ends) const override {
    static_cast<const Derived*>(this)->CutText(text, begin, end, ends);
  }
};

// Emits words for a stage: matches, and the unmatched text between them.
class Cutter {
 public:
  Cutter(uint32_t begin, std::vector<uint32_t>& ends)
      : last_(begin), ends_(ends) {}
  void Match(uint32_t start, uint32_t end) {
    if (start > last_) ends_.push_back(start);
    ends_.push_back(end);
    last_ = end;
  }
  // Ends the word in progress at `end` (nothing when it would be empty).
  void EndWordAt(uint32_t end) {
    if (end > last_) ends_.push_back(end);
    last_ = end;
  }

 private:
  uint32_t last_;
  std::vector<uint32_t>& ends_;
};

// `\s?C+`, `C+`, `\s?C` or `C` for a class C, searched left to right as
// std::regex_iterator does: `\s?` first tries to take a space.
class IsolateStage : public StageOf<IsolateStage> {
 public:
  IsolateStage(CodepointSet set, bool leading_space, bool repeat)
      : set_(std::move(set)), leading_space_(leading_space), repeat_(repeat) {
    for (uint32_t cpt = 0; cpt < 128; ++cpt) {
      if (set_.Contains(cpt)) ascii_[cpt >> 6] |= uint64_t{1} << (cpt & 63);
      if (RegexSpace(cpt)) ascii_space_[cpt >> 6] |= uint64_t{1} << (cpt & 63);
    }
    for (int i = 0; i < 2; ++i) {
      ascii_start_[i] = ascii_[i] | (leading_space ? ascii_space_[i] : 0);
    }
  }

  // PreTokenizer::Stage: a match needs a member of the set.
  bool MayCut(const uint32_t* high, size_t count) const override {
    if ((ascii_[0] | ascii_[1]) != 0) return true;
    for (size_t i = 0; i < count; ++i) {
      if (set_.Contains(high[i])) return true;
    }
    return false;
  }

  template <typename Text>
  void CutText(Text cpts, uint32_t begin, uint32_t end,
               std::vector<uint32_t>& ends) const {
    Cutter cutter(begin, ends);
    uint32_t pos = begin;
    while (pos < end) {
      if constexpr (std::is_same_v<Text, ByteText>) {
        // ASCII bytes that start no match: one bit each.
        const uint8_t byte = cpts.bytes[pos];
        if (byte < 0x80 &&
            ((ascii_start_[byte >> 6] >> (byte & 63)) & 1) == 0) {
          ++pos;
          continue;
        }
      }
      uint32_t start = pos;
      uint32_t run = pos;
      if (leading_space_ && pos + 1 < end && Space(cpts.Real(pos)) &&
          In(cpts.Real(pos + 1))) {
        run = pos + 1;
      } else if (!In(cpts.Real(pos))) {
        ++pos;
        continue;
      }
      ++run;
      if (repeat_) {
        while (run < end && In(cpts.Real(run))) ++run;
      }
      cutter.Match(start, run);
      pos = run;
    }
    cutter.EndWordAt(end);
  }

 private:
  // ASCII from two words, the rest from the set.
  bool In(uint32_t cpt) const {
    return cpt < 128 ? ((ascii_[cpt >> 6] >> (cpt & 63)) & 1) != 0
                     : set_.Contains(cpt);
  }
  bool Space(uint32_t cpt) const {
    return cpt < 128 ? ((ascii_space_[cpt >> 6] >> (cpt & 63)) & 1) != 0
                     : RegexSpace(cpt);
  }

  CodepointSet set_;
  bool leading_space_;
  bool repeat_;
  uint64_t ascii_[2] = {0, 0};
  uint64_t ascii_space_[2] = {0, 0};
  uint64_t ascii_start_[2] = {0, 0};  // members, and spaces before one
};

// `\s+$`: the white space a word ends with.
class TrailingSpaceStage : public StageOf<TrailingSpaceStage> {
 public:
  template <typename Text>
  void CutText(Text cpts, uint32_t begin, uint32_t end,
               std::vector<uint32_t>& ends) const {
    uint32_t start = end;
    while (start > begin && RegexSpace(cpts.Real(start - 1))) --start;
    Cutter cutter(begin, ends);
    if (start < end) cutter.Match(start, end);
    cutter.EndWordAt(end);
  }
};

// `[0-9][0-9][0-9]`.
class ThreeDigitsStage : public StageOf<ThreeDigitsStage> {
 public:
  template <typename Text>
  void CutText(Text cpts, uint32_t begin, uint32_t end,
               std::vector<uint32_t>& ends) const {
    auto digit = [&](uint32_t pos) {
      return cpts[pos] >= '0' && cpts[pos] <= '9';
    };
    Cutter cutter(begin, ends);
    uint32_t pos = begin;
    while (pos < end) {
      if (pos + 2 < end && digit(pos) && digit(pos + 1) && digit(pos + 2)) {
        cutter.Match(pos, pos + 3);
        pos += 3;
      } else {
        ++pos;
      }
    }
    cutter.EndWordAt(end);
  }
};

// Reads flags and codepoints inside one word, as llama.cpp's hand-written
// splitters do: nothing (flags 0, kOutOfRange) past its end.
template <typename Text>
struct WordView {
  Text cpts;
  uint32_t end;
  // llama.cpp's flags by codepoint, looked up once per word rather than
  // through the function-local static on every codepoint.
  const uint16_t* table;
  uint16_t Flags(uint32_t pos) const {
    if (pos >= end) return 0;
    const uint32_t cpt = cpts.Real(pos);
    return cpt < 0x110000 ? table[cpt] : static_cast<uint16_t>(kUndefined);
  }
  uint32_t Cpt(uint32_t pos) const {
    return pos < end ? cpts[pos] : kOutOfRange;
  }
  // The end of the run of codepoints with a flag of `letter` from `pos`.
  // In ASCII text, eight bytes at a time.
  uint32_t LettersEnd(uint32_t pos, uint16_t letter) const {
    if constexpr (std::is_same_v<Text, ByteText>) {
      if (AsciiLettersAreAToZ()) {
        for (; pos + 8 <= end; pos += 8) {
          uint64_t bytes;
          std::memcpy(&bytes, cpts.bytes + pos, 8);
          // A byte is a letter when, in lower case, it is 'a' to 'z': ASCII
          // bytes plus 0x1F carry into bit 7 from 'a' on, plus 0x05 from
          // '{' on, never into the next byte. A byte from 0x80 may carry
          // into the bytes after it, which are not read past it.
          const uint64_t lower = bytes | 0x2020202020202020ULL;
          const uint64_t letters = (lower + 0x1F1F1F1F1F1F1F1FULL) &
                                   ~(lower + 0x0505050505050505ULL) &
                                   0x8080808080808080ULL;
          const uint64_t stop = (~letters | bytes) & 0x8080808080808080ULL;
          if (stop != 0) {
            pos += static_cast<uint32_t>(std::countr_zero(stop) >> 3);
            if (cpts.bytes[pos] < 0x80) return pos;
            break;  // a character not ASCII: by its flags
          }
        }
      }
    }
    while (Flags(pos) & letter) ++pos;
    return pos;
  }

 private:
  // Whether llama.cpp's letters among ASCII are A-Z and a-z, as the
  // eight-at-a-time test above takes them to be (checked once).
  static bool AsciiLettersAreAToZ() {
    static const bool same = [] {
      for (uint32_t cpt = 0; cpt < 128; ++cpt) {
        const bool az =
            (cpt >= 'A' && cpt <= 'Z') || (cpt >= 'a' && cpt <= 'z');
        if (((CodepointFlags(cpt) & kLetter) != 0) != az) return false;
        if ((CodepointFlags(cpt) & kAccentMark) != 0) return false;
      }
      return true;
    }();
    return same;
  }
};

uint32_t ToLower(uint32_t cpt) {
  if (cpt < 128) return cpt >= 'A' && cpt <= 'Z' ? cpt + ('a' - 'A') : cpt;
  return CodepointToLower(cpt);
}

// The length of the contraction ('s 't 're 've 'm 'll 'd) at `pos` of a
// word ending at `end`, 0 when there is none; `fold`: in any case, as
// llama.cpp's llama3-style splitters read it (through its lower case).
template <typename Text>
inline uint32_t Contraction(const Text& cpts, uint32_t pos, uint32_t end,
                            bool fold) {
  if (cpts[pos] != '\'' || pos + 1 >= end) return 0;
  auto at = [&](uint32_t i) -> uint32_t {
    return fold ? ToLower(cpts.Real(i)) : cpts[i];
  };
  const uint32_t next = at(pos + 1);
  if (next == 's' || next == 't' || next == 'm' || next == 'd') return 2;
  if (pos + 2 >= end) return 0;
  const uint32_t after = at(pos + 2);
  if ((next == 'r' && after == 'e') || (next == 'v' && after == 'e') ||
      (next == 'l' && after == 'l')) {
    return 3;
  }
  return 0;
}

// GPT-2's regex, as llama.cpp's unicode_regex_split_custom_gpt2 reads it:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
class Gpt2Stage : public StageOf<Gpt2Stage> {
 public:
  template <typename Text>
  void CutText(Text cpts, uint32_t begin, uint32_t end,
               std::vector<uint32_t>& ends) const {
    const WordView<Text> word{cpts, end, internal::FlagTable()};
    Cutter cutter(begin, ends);
    uint32_t pos = begin;
    while (pos < end) {
      const uint32_t cpt = cpts[pos];
      const uint16_t flags = word.Flags(pos);
      if (const uint32_t length = Contraction(cpts, pos, end, false)) {
        pos += length;
        cutter.EndWordAt(pos);
        continue;
      }
      uint16_t flags2 = cpt == ' ' ? word.Flags(pos + 1) : flags;
      if (flags2 & kLetter) {
        pos = word.LettersEnd(pos + (cpt == ' '), kLetter);
        cutter.EndWordAt(pos);
        continue;
      }
      if (flags2 & kNumber) {
        pos += cpt == ' ';
        while (flags2 & kNumber) flags2 = word.Flags(++pos);
        cutter.EndWordAt(pos);
        continue;
      }
      auto other = [](uint16_t f) {
        return !(f & (kWhitespace | kLetter | kNumber)) && f != 0;
      };
      if (other(flags2)) {
        pos += cpt == ' ';
        while (other(flags2)) flags2 = word.Flags(++pos);
        cutter.EndWordAt(pos);
        continue;
      }
      uint32_t spaces = 0;
      while (word.Flags(pos + spaces) & kWhitespace) ++spaces;
      if (spaces > 1 && word.Cpt(pos + spaces) != kOutOfRange) {
        pos += spaces - 1;  // \s+(?!\S)
        cutter.EndWordAt(pos);
        continue;
      }
      if (spaces > 0) {
        pos += spaces;
        cutter.EndWordAt(pos);
        continue;
      }
      cutter.EndWordAt(++pos);
    }
  }
};

// Llama 3's regex and its relatives, as llama.cpp's custom llama3 / qwen2 /
// qwen35 splitters read them:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with \p{M} joining \p{L} when `marks`.
class Llama3Stage : public StageOf<Llama3Stage> {
 public:
  Llama3Stage(uint32_t max_digits, bool marks)
      : max_digits_(max_digits),
        letter_(marks ? (kLetter | kAccentMark) : kLetter) {}

  template <typename Text>
  void CutText(Text cpts, uint32_t begin, uint32_t end,
               std::vector<uint32_t>& ends) const {
    const WordView<Text> word{cpts, end, internal::FlagTable()};
    Cutter cutter(begin, ends);
    uint32_t pos = begin;
    while (pos < end) {
      const uint32_t cpt = cpts[pos];
      const uint16_t flags = word.Flags(pos);
      if (const uint32_t length = Contraction(cpts, pos, end, true)) {
        pos += length;
        cutter.EndWordAt(pos);
        continue;
      }
      if (!(cpt == '\r' || cpt == '\n' || (flags & kNumber))) {
        if ((flags & letter_) || (word.Flags(pos + 1) & letter_)) {
          pos = word.LettersEnd(pos + 1, letter_);
          cutter.EndWordAt(pos);
          continue;
        }
      }
      if (flags & kNumber) {
        uint32_t first = pos;
        while (word.Flags(pos) & kNumber) {
          if (++pos - first >= max_digits_) {
            cutter.EndWordAt(pos);
            first = pos;
          }
        }
        cutter.EndWordAt(pos);
        continue;
      }
      const uint16_t not_other = kWhitespace | letter_ | kNumber;
      uint16_t flags2 = cpt == ' ' ? word.Flags(pos + 1) : flags;
      // llama.cpp tests the first codepoint's flags here, not flags2.
      if (!(flags2 & not_other) && flags != 0) {
        pos += cpt == ' ';
        while (!(flags2 & not_other) && flags2 != 0) flags2 = word.Flags(++pos);
        uint32_t cpt2 = word.Cpt(pos);
        while (cpt2 == '\r' || cpt2 == '\n') cpt2 = word.Cpt(++pos);
        cutter.EndWordAt(pos);
        continue;
      }
      uint32_t spaces = 0;
      uint32_t after_newline = 0;
      while (word.Flags(pos + spaces) & kWhitespace) {
        const uint32_t cpt2 = word.Cpt(pos + spaces);
        if (cpt2 == '\r' || cpt2 == '\n') after_newline = pos + spaces + 1;
        ++spaces;
      }
      if (after_newline > 0) {  // \s*[\r\n]+
        pos = after_newline;
        cutter.EndWordAt(pos);
        continue;
      }
      if (spaces > 1 && word.Cpt(pos + spaces) != kOutOfRange) {
        pos += spaces - 1;  // \s+(?!\S)
        cutter.EndWordAt(pos);
        continue;
      }
      if (spaces > 0) {
        pos += spaces;
        cutter.EndWordAt(pos);
        continue;
      }
      cutter.EndWordAt(++pos);
    }
  }

 private:
  uint32_t max_digits_;
  uint16_t letter_;
};

std::unique_ptr<Stage> Isolate(CodepointSet set, bool leading_space,
                               bool repeat) {
  return std::make_unique<IsolateStage>(std::move(set), leading_space, repeat);
}

CodepointSet Newlines() {
  CodepointSet set;
  set.Remember('\r');
  set.Remember('\n');
  return set;
}

}  // namespace

PreTokenizer::~PreTokenizer() = default;

absl::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::ForName(
    absl::string_view pre) {
  std::unique_ptr<PreTokenizer> out(new PreTokenizer());
  auto& stages = out->stages_;
  if (pre == "gpt-2" || pre == "mpt" || pre == "olmo") {
    stages.push_back(std::make_unique<Gpt2Stage>());
  } else if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe") {
    stages.push_back(std::make_unique<Llama3Stage>(3, false));
    out->ignore_merges_ = true;
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen") {
    stages.push_back(std::make_unique<Llama3Stage>(1, false));
  } else if (pre == "qwen35") {
    stages.push_back(std::make_unique<Llama3Stage>(1, true));
  } else if (pre == "deepseek-llm") {
    out->isolates_newlines_ = true;
    stages.push_back(Isolate(Newlines(), false, false));
    stages.push_back(
        Isolate(CodepointSet::Bracket(kDeepseekLetters), true, true));
    stages.push_back(
        Isolate(CodepointSet::Bracket(kDeepseekPunctuation), true, true));
    stages.push_back(std::make_unique<TrailingSpaceStage>());
    stages.push_back(Isolate(CodepointSet::Bracket(kDeepseekCjk), false, true));
    stages.push_back(
        Isolate(CodepointSet::CollapsedBytes(CollapsedNumbers()), false, true));
  } else if (pre == "deepseek-coder") {
    out->isolates_newlines_ = true;
    stages.push_back(Isolate(Newlines(), false, false));
    stages.push_back(
        Isolate(CodepointSet::CollapsedBytes(CollapsedLetters()), true, true));
    stages.push_back(Isolate(
        CodepointSet::CollapsedBytes(CollapsedPunctuation()), true, true));
    stages.push_back(Isolate(CodepointSet::Bracket(kDeepseekCjk), false, true));
    stages.push_back(Isolate(CodepointSet::CollapsedBytes(CollapsedNumbers()),
                             false, false));
  } else if (pre == "starcoder" || pre == "refact" || pre == "command-r") {
    stages.push_back(Isolate(CodepointSet::CollapsedBytes(CollapsedNumbers()),
                             false, false));
    stages.push_back(std::make_unique<Gpt2Stage>());
  } else if (pre == "falcon" || pre.empty() || pre == "default") {
    // [\p{P}\$\+<=>\^~\|`]+ (falcon) or [\p{P}\$\+<=>\^~\|]+ (default).
    std::string symbols = absl::StrCat(CollapsedPunctuation(), "$+<=>^~|");
    if (pre == "falcon") symbols += "`";
    stages.push_back(
        Isolate(CodepointSet::CollapsedBytes(symbols), false, true));
    stages.push_back(std::make_unique<Gpt2Stage>());
    if (pre != "falcon") {
      stages.push_back(Isolate(CodepointSet::CollapsedBytes(CollapsedNumbers()),
                               false, true));
    }
    stages.push_back(std::make_unique<ThreeDigitsStage>());
  } else {
    return absl::UnimplementedError(
        absl::StrCat("no fast pre-tokenizer for \"", pre, "\""));
  }
  for (const auto& stage : stages) out->all_stages_.push_back(stage.get());
  return out;
}

template <typename Text>
void PreTokenizer::SplitText(const Text& text, uint32_t size,
                             const std::vector<const Stage*>& stages,
                             std::vector<uint32_t>& ends) const {
  if (size == 0) return;
  if (stages.empty()) {
    ends.push_back(size);
    return;
  }
  // Depth first: each word of a stage goes through the next stages while
  // its codepoints are still in cache (a stage at a time over the whole
  // text read every codepoint from memory once per stage).
  thread_local std::vector<std::vector<uint32_t>> scratch;
  if (scratch.size() < stages.size()) scratch.resize(stages.size());
  SplitFrom(stages, 0, text, 0, size, scratch, ends);
}

void PreTokenizer::Split(const uint32_t* cpts, uint32_t size,
                         std::vector<uint32_t>& ends) const {
  SplitText(CodepointText{cpts}, size, all_stages_, ends);
}

void PreTokenizer::SplitBytes(const uint8_t* bytes, uint32_t size,
                              const uint32_t* high, size_t high_count,
                              std::vector<uint32_t>& ends) const {
  // A stage that can cut nothing out of this text (the CJK stage of the
  // deepseek pre-tokenizers on ASCII) leaves each piece whole: skipped.
  thread_local std::vector<const Stage*> stages;
  stages.clear();
  for (const auto& stage : stages_) {
    if (stage->MayCut(high, high_count)) stages.push_back(stage.get());
  }
  SplitText(ByteText{bytes, high}, size, stages, ends);
}

template <typename Text>
void PreTokenizer::SplitFrom(const std::vector<const Stage*>& stages,
                             size_t stage, const Text& cpts, uint32_t begin,
                             uint32_t end,
                             std::vector<std::vector<uint32_t>>& scratch,
                             std::vector<uint32_t>& ends) const {
  // No stage cuts a single character (code is full of them: brackets,
  // newlines, spaces).
  if (end - begin == 1) {
    ends.push_back(end);
    return;
  }
  if (stage + 1 == stages.size()) {
    stages[stage]->Cut(cpts, begin, end, ends);
    return;
  }
  // A word's pieces at this depth, then each through the next stage. The
  // scratch vector of a depth is reused by each word at that depth.
  std::vector<uint32_t>& words = scratch[stage];
  const size_t first = words.size();
  stages[stage]->Cut(cpts, begin, end, words);
  const size_t last = words.size();
  uint32_t from = begin;
  for (size_t i = first; i < last; ++i) {
    const uint32_t to = words[i];
    SplitFrom(stages, stage + 1, cpts, from, to, scratch, ends);
    from = to;
  }
  words.resize(first);
}

}  // namespace sluice::tokenizer
