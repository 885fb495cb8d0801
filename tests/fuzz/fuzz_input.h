// Helpers shared by the fuzz targets: turning one fuzzer input into the
// pieces a parser is fed (network reads split anywhere, several fields).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::fuzz {

// The input as text.
inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits `text` into reads the way a socket might deliver them: sizes come
// from `seed` (the input's first byte, so the fuzzer explores splits too),
// from 1 byte to whole.
inline std::vector<absl::string_view> SplitIntoReads(absl::string_view text,
                                                     uint8_t seed) {
  std::vector<absl::string_view> reads;
  uint32_t state = seed * 2654435761u + 1;
  while (!text.empty()) {
    state = state * 1103515245u + 12345u;
    size_t size = seed % 4 == 0 ? text.size() : 1 + (state >> 16) % 97;
    size = size > text.size() ? text.size() : size;
    reads.push_back(text.substr(0, size));
    text.remove_prefix(size);
  }
  return reads;
}

// The input cut in two at its first "\n" (e.g. a Content-Type, then a body);
// no newline: all of it is the second part.
inline std::pair<absl::string_view, absl::string_view> CutAtNewline(
    absl::string_view text) {
  size_t eol = text.find('\n');
  if (eol == absl::string_view::npos) return {absl::string_view(), text};
  return {text.substr(0, eol), text.substr(eol + 1)};
}

// A failed invariant: a crash the fuzzer reports with its input.
[[noreturn]] inline void Fail(const char* what) {
  __builtin_fprintf(stderr, "fuzz invariant failed: %s\n", what);
  __builtin_trap();
}

}  // namespace sluice::fuzz
