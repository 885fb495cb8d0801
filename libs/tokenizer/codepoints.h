// Codepoints as llama.cpp reads them: its lenient UTF-8 decoder (a byte it
// cannot read becomes U+FFFD) and its Unicode classes (src/unicode.h of the
// pinned release, installed beside the library by scripts/llama.sh), so that
// our pre-tokenizers split text exactly where llama.cpp's do.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::tokenizer {

// llama.cpp's unicode_cpt_flags bits.
enum CodepointFlag : uint16_t {
  kUndefined = 0x0001,
  kNumber = 0x0002,       // \p{N}
  kLetter = 0x0004,       // \p{L}
  kSeparator = 0x0008,    // \p{Z}
  kAccentMark = 0x0010,   // \p{M}
  kPunctuation = 0x0020,  // \p{P}
  kSymbol = 0x0040,       // \p{S}
  kControl = 0x0080,      // \p{C}
  kCategories = 0x00FF,
  kWhitespace = 0x0100,
};

namespace internal {
// llama.cpp's flags of every codepoint below U+110000.
const uint16_t* BuildFlagTable();
// Built on first use, never during static initialization: libllama's own
// table reads its Unicode data globals, which may not be constructed yet
// then (and it would keep a table without white space for good).
inline const uint16_t* FlagTable() {
  static const uint16_t* const table = BuildFlagTable();
  return table;
}
}  // namespace internal

// llama.cpp's flags of a codepoint (kUndefined past U+10FFFF).
inline uint16_t CodepointFlags(uint32_t cpt) {
  return cpt < 0x110000 ? internal::FlagTable()[cpt]
                        : static_cast<uint16_t>(kUndefined);
}

// llama.cpp's lower case of a codepoint (itself when it has none).
uint32_t CodepointToLower(uint32_t cpt);

// Decodes `text` as llama.cpp does (unicode_cpts_from_utf8): a lead byte
// sets the length, continuation bytes are checked, nothing else (overlong
// forms and surrogates pass); a byte that does not start a readable
// sequence becomes U+FFFD and the next byte is read. Appends to `out`.
void DecodeUtf8LikeLlama(absl::string_view text, std::vector<uint32_t>& out);

// True when DecodeUtf8LikeLlama(text) re-encodes to `text` itself: then a
// piece's bytes are a slice of the input. Valid UTF-8 is (surrogates are
// too, which llama.cpp's decoder reads as codepoints like any other).
bool IsCanonicalUtf8(absl::string_view text);

// True when every byte of `text` is ASCII.
bool IsAscii(absl::string_view text);

// Whether the eight bytes at `bytes` are all ASCII (the scanners' stride).
inline bool EightAscii(const uint8_t* bytes) {
  uint64_t word;
  std::memcpy(&word, bytes, 8);
  return (word & 0x8080808080808080ULL) == 0;
}

// The codepoint of the character of canonical UTF-8 at `bytes`, whose lead
// byte is 0x80 or more; its length into `length`. Reads no byte as
// invalid: the text was checked.
inline uint32_t DecodeCanonicalAt(const uint8_t* bytes, uint32_t& length) {
  const uint8_t lead = bytes[0];
  length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  uint32_t cpt = lead & (0x7F >> length);
  for (uint32_t i = 1; i < length; ++i) cpt = cpt << 6 | (bytes[i] & 0x3F);
  return cpt;
}

// The codepoints of canonical UTF-8 (IsCanonicalUtf8) into `out`, and the
// byte offset where each starts into `offsets`, both with room for
// text.size(); returns how many. Reads no byte as invalid: the text was
// checked.
size_t DecodeCanonicalUtf8(absl::string_view text, uint32_t* out,
                           uint32_t* offsets);

// Appends the UTF-8 of `cpt`; false for a codepoint past U+10FFFF (which
// llama.cpp's encoder rejects with an exception).
bool AppendUtf8(uint32_t cpt, std::string& out);

}  // namespace sluice::tokenizer
