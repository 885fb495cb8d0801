#include "libs/tokenizer/narrow_text.h"

#include <cstring>

#include "libs/tokenizer/codepoints.h"

namespace sluice::tokenizer {

bool NarrowText::Assign(absl::string_view text) {
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  bytes_.resize(size);
  jumps_.clear();
  Rewind();
  // Distinct codepoints to their byte, open addressing over 256 slots.
  uint32_t keys[256];
  uint8_t values[256];
  std::memset(values, 0, sizeof(values));  // 0: empty
  size_t& distinct = distinct_;
  distinct = 0;
  uint8_t* out = bytes_.data();
  uint32_t extra = 0;
  size_t at = 0;
  while (at < size) {
    // Eight ASCII bytes at a time.
    if (at + 8 <= size && EightAscii(in + at)) {
      std::memcpy(out, in + at, 8);
      out += 8;
      at += 8;
      continue;
    }
    if (in[at] < 0x80) {
      *out++ = in[at++];
      continue;
    }
    uint32_t length = 0;
    const uint32_t cpt = DecodeCanonicalAt(in + at, length);
    size_t slot = (cpt * 0x9E3779B1u) >> 24;
    while (values[slot] != 0 && keys[slot] != cpt) slot = (slot + 1) & 255;
    if (values[slot] == 0) {
      if (distinct == kMaxDistinct) return false;
      keys[slot] = cpt;
      high_[distinct] = cpt;
      values[slot] = static_cast<uint8_t>(0x80 + distinct++);
    }
    const auto pos = static_cast<uint32_t>(out - bytes_.data());
    *out++ = values[slot];
    extra += length - 1;
    jumps_.push_back({pos, extra});
    at += length;
  }
  bytes_.resize(static_cast<size_t>(out - bytes_.data()));
  return true;
}

}  // namespace sluice::tokenizer
