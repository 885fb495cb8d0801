#include "services/worker/text/utf8_joiner.h"

#include <cstdint>
#include <utility>

namespace sluice::worker {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the sequence that `lead` starts, or 0 when it starts none.
size_t SequenceLength(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // A continuation byte, C0/C1 (overlong) or F5..FF.
}

// Whether `byte` may follow `lead` as the second byte (RFC 3629 table:
// no overlongs, no surrogates, nothing above U+10FFFF).
bool SecondByteFits(uint8_t lead, uint8_t byte) {
  switch (lead) {
    case 0xE0:
      return byte >= 0xA0 && byte <= 0xBF;
    case 0xED:
      return byte >= 0x80 && byte <= 0x9F;
    case 0xF0:
      return byte >= 0x90 && byte <= 0xBF;
    case 0xF4:
      return byte >= 0x80 && byte <= 0x8F;
    default:
      return byte >= 0x80 && byte <= 0xBF;
  }
}

bool IsContinuation(uint8_t byte) { return byte >= 0x80 && byte <= 0xBF; }

}  // namespace

std::string Utf8Joiner::Add(absl::string_view bytes) {
  std::string in = std::move(held_);
  held_.clear();
  in.append(bytes.data(), bytes.size());

  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const uint8_t lead = static_cast<uint8_t>(in[i]);
    const size_t length = SequenceLength(lead);
    if (length == 1) {
      out.push_back(in[i++]);
      continue;
    }
    if (length == 0) {
      out.append(kReplacement.data(), kReplacement.size());
      ++i;
      continue;
    }
    // How many bytes from i form a well-formed (possibly incomplete) prefix.
    size_t good = 1;
    while (good < length && i + good < in.size()) {
      const uint8_t byte = static_cast<uint8_t>(in[i + good]);
      const bool fits =
          good == 1 ? SecondByteFits(lead, byte) : IsContinuation(byte);
      if (!fits) break;
      ++good;
    }
    if (good == length) {
      out.append(in, i, length);
    } else if (i + good == in.size()) {
      held_.assign(in, i, good);  // Incomplete: wait for the rest.
    } else {
      out.append(kReplacement.data(), kReplacement.size());
    }
    i += good;
  }
  return out;
}

std::string Utf8Joiner::Flush() {
  if (held_.empty()) return "";
  held_.clear();
  return std::string(kReplacement);
}

}  // namespace sluice::worker
