// Where a long word can be cut into pieces that merge on their own.
//
// A BPE merge only ever makes a token of the vocabulary, and the symbols it
// joins are neighbours in the word. So where no token holds the end of one
// character and the start of the next, no merge ever joins across that
// boundary: the two sides merge independently, in the same order as in the
// whole word (the lowest rank first within each side). A run of CJK text is
// one word of thousands of bytes for most pre-tokenizers; cut at such
// boundaries it becomes short pieces that repeat (and go through the word
// cache) instead of one long heap merge.
//
// A token that holds such a boundary holds both characters whole (then
// their codepoints are a pair kept here) or a part of one of them (then the
// two bytes either side of the boundary are, since a token's bytes decode
// back into its characters from the first byte that starts one).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace sluice::tokenizer {

class CrossingPairs {
 public:
  CrossingPairs() : bytes_(65536 / 64, 0), filter_(kFilterBits / 64, 0) {}

  // Notes the boundaries that a token of these bytes holds.
  void Add(absl::string_view token);

  // Whether some token holds the boundary between the characters `left`
  // and `right` of a word, both of two bytes or more, where `before` and
  // `after` are the bytes either side of it.
  bool MayJoin(uint32_t left, uint32_t right, uint8_t before,
               uint8_t after) const {
    const uint32_t byte_pair = uint32_t{before} << 8 | after;
    if ((bytes_[byte_pair >> 6] >> (byte_pair & 63)) & 1) return true;
    const uint64_t pair = uint64_t{left} << 21 | right;
    const uint64_t bit = FilterBit(pair);
    if (((filter_[bit >> 6] >> (bit & 63)) & 1) == 0) return false;
    return characters_.contains(pair);
  }

 private:
  // In front of the set, one bit per hash of a pair (128 KB): most pairs
  // of characters side by side in text are in no token, and one bit that
  // says so costs less than a probe of the set.
  static constexpr uint64_t kFilterBits = uint64_t{1} << 20;
  static uint64_t FilterBit(uint64_t pair) {
    return (pair * 0x9E3779B97F4A7C15ULL) >> 44;
  }

  // Pairs of characters of two bytes or more that a token holds side by
  // side, whole.
  absl::flat_hash_set<uint64_t> characters_;
  // Byte pairs at boundaries that a token holds with a part of a
  // character, one bit each.
  std::vector<uint64_t> bytes_;
  std::vector<uint64_t> filter_;
};

}  // namespace sluice::tokenizer
