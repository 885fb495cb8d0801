#include "libs/tokenizer/codepoints.h"

#include <cstring>

// libllama's own classification (not part of its public API).
#include "unicode.h"

namespace sluice::tokenizer {
namespace {

constexpr uint32_t kCodepoints = 0x110000;

// Length of a sequence from its lead byte, as llama.cpp's decoder reads it:
// 0 for a byte that cannot lead (a continuation byte, or 0xF8 and above).
int LeadLength(uint8_t byte) {
  if (byte < 0x80) return 1;
  if ((byte & 0x40) == 0) return 0;
  if ((byte & 0x20) == 0) return 2;
  if ((byte & 0x10) == 0) return 3;
  if ((byte & 0x08) == 0) return 4;
  return 0;
}

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

}  // namespace

namespace internal {

const uint16_t* BuildFlagTable() {
  auto* flags = new uint16_t[kCodepoints];
  for (uint32_t cpt = 0; cpt < kCodepoints; ++cpt) {
    flags[cpt] = unicode_cpt_flags_from_cpt(cpt).as_uint();
  }
  return flags;
}

}  // namespace internal

uint32_t CodepointToLower(uint32_t cpt) { return unicode_tolower(cpt); }

void DecodeUtf8LikeLlama(absl::string_view text, std::vector<uint32_t>& out) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  // At most one codepoint a byte: written in place, trimmed at the end.
  const size_t before = out.size();
  out.resize(before + size);
  uint32_t* next = out.data() + before;
  size_t at = 0;
  while (at < size) {
    // Eight ASCII bytes at a time.
    if (at + 8 <= size && EightAscii(bytes + at)) {
      for (size_t i = 0; i < 8; ++i) next[i] = bytes[at + i];
      next += 8;
      at += 8;
      continue;
    }
    const uint8_t lead = bytes[at];
    if (lead < 0x80) {
      *next++ = lead;
      ++at;
      continue;
    }
    const int length = LeadLength(lead);
    // llama.cpp wants every continuation byte present and well formed.
    bool readable = length > 0 && at + static_cast<size_t>(length) <= size;
    for (int i = 1; readable && i < length; ++i) {
      readable = IsContinuation(bytes[at + static_cast<size_t>(i)]);
    }
    if (!readable) {
      *next++ = 0xFFFD;
      ++at;
      continue;
    }
    uint32_t cpt = lead & (0x7F >> length);
    for (int i = 1; i < length; ++i) {
      cpt = (cpt << 6) | (bytes[at + static_cast<size_t>(i)] & 0x3F);
    }
    *next++ = cpt;
    at += static_cast<size_t>(length);
  }
  out.resize(static_cast<size_t>(next - out.data()));
}

bool IsCanonicalUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  size_t at = 0;
  while (at < size) {
    // Eight ASCII bytes at a time.
    if (at + 8 <= size && EightAscii(bytes + at)) {
      at += 8;
      continue;
    }
    const uint8_t lead = bytes[at];
    if (lead < 0x80) {
      ++at;
      continue;
    }
    const int length = LeadLength(lead);
    if (length == 0 || at + static_cast<size_t>(length) > size) return false;
    uint32_t cpt = lead & (0x7F >> length);
    for (int i = 1; i < length; ++i) {
      const uint8_t next = bytes[at + static_cast<size_t>(i)];
      if (!IsContinuation(next)) return false;
      cpt = (cpt << 6) | (next & 0x3F);
    }
    // Overlong forms re-encode shorter; past U+10FFFF does not encode.
    static constexpr uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cpt < kLeast[length] || cpt > 0x10FFFF) return false;
    at += static_cast<size_t>(length);
  }
  return true;
}

bool IsAscii(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  size_t at = 0;
  // Four words at a time, their high bits gathered.
  for (; at + 32 <= size; at += 32) {
    uint64_t words[4];
    std::memcpy(words, bytes + at, 32);
    if (((words[0] | words[1] | words[2] | words[3]) & 0x8080808080808080ULL) !=
        0) {
      return false;
    }
  }
  for (; at < size; ++at) {
    if (bytes[at] >= 0x80) return false;
  }
  return true;
}

size_t DecodeCanonicalUtf8(absl::string_view text, uint32_t* out,
                           uint32_t* offsets) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  size_t count = 0;
  size_t at = 0;
  while (at < size) {
    // Eight ASCII bytes at a time.
    if (at + 8 <= size && EightAscii(bytes + at)) {
      for (size_t i = 0; i < 8; ++i) {
        out[count + i] = bytes[at + i];
        offsets[count + i] = static_cast<uint32_t>(at + i);
      }
      count += 8;
      at += 8;
      continue;
    }
    offsets[count] = static_cast<uint32_t>(at);
    if (bytes[at] < 0x80) {
      out[count] = bytes[at];
      at += 1;
    } else {
      uint32_t length = 0;
      out[count] = DecodeCanonicalAt(bytes + at, length);
      at += length;
    }
    ++count;
  }
  return count;
}

bool AppendUtf8(uint32_t cpt, std::string& out) {
  if (cpt <= 0x7F) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    return false;
  }
  return true;
}

}  // namespace sluice::tokenizer
