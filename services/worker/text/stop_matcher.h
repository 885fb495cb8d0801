// Cuts a streamed answer at the first stop string (OpenAI `stop`, Anthropic
// `stop_sequences`), however the stop string is split across pieces. Text is
// released as soon as it cannot be the start of a stop string.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sluice::worker {

class StopMatcher {
 public:
  struct Result {
    std::string emit;  // Safe to send now.
    bool stopped = false;
  };

  // Empty strings in `stops` are ignored; with none left, text passes through.
  explicit StopMatcher(std::vector<std::string> stops);

  // Appends `text` and returns what is safe to send: all but a held suffix
  // that is a proper prefix of some stop string. When a stop string occurs,
  // returns the text before its first occurrence and stopped=true; what
  // follows it, and anything added later, is dropped. The cut is where the
  // earliest stop starts in the whole text, however it was split: a stop
  // that completes while an earlier-starting one may still complete waits
  // for it (e.g. stops "bcd" and "c": "bc" is held until the next piece).
  Result Add(absl::string_view text);

  // At the end of the stream: the held text, cut before a stop that was
  // waiting on a longer one (then stopped() turns true).
  std::string Flush();

  bool stopped() const { return stopped_; }
  // The stop string that matched, or "" before a match. At equal starts the
  // longest whole one wins; a stop is not held back for a longer one that
  // starts at the same place (the cut is the same either way).
  absl::string_view matched_stop() const {
    return matched_ < 0 ? absl::string_view() : stops_[matched_];
  }

 private:
  struct Match {
    size_t pos = absl::string_view::npos;
    int stop = -1;
  };
  // The earliest whole stop in `text` (at equal starts, the longest).
  Match FindStop(absl::string_view text) const;
  // Where the longest suffix of `text` that is a proper prefix of some stop
  // starts; text.size() when none.
  size_t FirstPartialStart(absl::string_view text) const;

  std::vector<std::string> stops_;
  size_t longest_ = 0;
  std::string held_;
  bool stopped_ = false;
  int matched_ = -1;
};

}  // namespace sluice::worker
