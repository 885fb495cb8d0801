// Joins a stream of byte pieces (detokenized output, where one character may
// span several tokens) into pieces of valid UTF-8: an incomplete character at
// the end of a piece waits for the rest, and malformed bytes become U+FFFD, so
// every piece can go into a proto string field.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sluice::worker {

class Utf8Joiner {
 public:
  // The longest prefix of (held + bytes) that ends on a character boundary,
  // with malformed sequences replaced by U+FFFD (one per maximal subpart, as
  // the Unicode standard recommends). An incomplete but so far well-formed
  // trailing sequence (at most 3 bytes) is held for the next call.
  std::string Add(absl::string_view bytes);

  // At the end of the stream: U+FFFD for a held incomplete sequence, or "".
  std::string Flush();

  // Bytes held for the next call (0 to 3).
  size_t held_size() const { return held_.size(); }

 private:
  std::string held_;
};

}  // namespace sluice::worker
