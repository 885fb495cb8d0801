// Nearly ASCII text (prose with a few curly quotes, dashes or emoji; source
// code) as bytes for PreTokenizer::SplitBytes: each character that is not
// ASCII becomes one byte from 0x80 that stands for its codepoint, so that
// the pre-tokenizer reads bytes, eight letters at a time, instead of a
// decoded array of codepoints four times the text's size. Up to 128
// distinct such characters; a text with more is decoded as codepoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::tokenizer {

class NarrowText {
 public:
  static constexpr size_t kMaxDistinct = 128;

  // Narrows `text` (canonical UTF-8); false when it holds more than
  // kMaxDistinct distinct characters that are not ASCII.
  bool Assign(absl::string_view text);

  const uint8_t* bytes() const { return bytes_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(bytes_.size()); }
  // The codepoint of byte b is high()[b - 0x80], for `distinct()` bytes.
  const uint32_t* high() const { return high_; }
  size_t distinct() const { return distinct_; }

  // The offset in the text of narrow position `pos`; calls in rising order
  // of pos (from 0 again after Assign or Rewind).
  size_t OffsetOf(uint32_t pos) {
    while (next_ < jumps_.size() && jumps_[next_].pos < pos) {
      extra_ = jumps_[next_++].extra;
    }
    return pos + extra_;
  }
  void Rewind() {
    next_ = 0;
    extra_ = 0;
  }

 private:
  // After the character at narrow position `pos`, the text is `extra`
  // bytes further along than the narrow text.
  struct Jump {
    uint32_t pos;
    uint32_t extra;
  };

  std::vector<uint8_t> bytes_;
  std::vector<Jump> jumps_;
  uint32_t high_[kMaxDistinct] = {};
  size_t distinct_ = 0;
  size_t next_ = 0;
  uint32_t extra_ = 0;
};

}  // namespace sluice::tokenizer
