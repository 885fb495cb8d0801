#include "libs/tokenizer/crossing_pairs.h"

namespace sluice::tokenizer {
namespace {

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// A character of the token: the codepoint of a whole UTF-8 sequence, or a
// byte that is part of one (`whole` false).
struct Unit {
  uint32_t cpt;
  uint32_t at;
  uint32_t size;
  bool whole;
};

// The unit at `at`, read as llama.cpp's decoder reads UTF-8.
Unit ReadUnit(const uint8_t* bytes, uint32_t size, uint32_t at) {
  const uint8_t lead = bytes[at];
  if (lead < 0x80) return {lead, at, 1, true};
  const uint32_t length = (lead & 0x40) == 0   ? 0
                          : (lead & 0x20) == 0 ? 2
                          : (lead & 0x10) == 0 ? 3
                          : (lead & 0x08) == 0 ? 4
                                               : 0;
  bool readable = length > 0 && at + length <= size;
  for (uint32_t i = 1; readable && i < length; ++i) {
    readable = IsContinuation(bytes[at + i]);
  }
  if (!readable) return {0, at, 1, false};
  uint32_t cpt = lead & (0x7F >> length);
  for (uint32_t i = 1; i < length; ++i) cpt = cpt << 6 | (bytes[at + i] & 0x3F);
  return {cpt, at, length, true};
}

}  // namespace

void CrossingPairs::Add(absl::string_view token) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(token.data());
  const auto size = static_cast<uint32_t>(token.size());
  if (size < 2) return;
  Unit left = ReadUnit(bytes, size, 0);
  for (uint32_t at = left.size; at < size;) {
    const Unit right = ReadUnit(bytes, size, at);
    // Only a byte that starts a character starts one in a word.
    if (!IsContinuation(bytes[at])) {
      if (left.whole && right.whole) {
        if (left.size > 1 && right.size > 1) {
          const uint64_t pair = uint64_t{left.cpt} << 21 | right.cpt;
          characters_.insert(pair);
          const uint64_t bit = FilterBit(pair);
          filter_[bit >> 6] |= uint64_t{1} << (bit & 63);
        }
      } else {
        const uint32_t byte_pair = uint32_t{bytes[at - 1]} << 8 | bytes[at];
        bytes_[byte_pair >> 6] |= uint64_t{1} << (byte_pair & 63);
      }
    }
    left = right;
    at += right.size;
  }
}

}  // namespace sluice::tokenizer
