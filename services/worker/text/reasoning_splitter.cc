#include "services/worker/text/reasoning_splitter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace sluice::worker {
namespace {

// The length of the longest suffix of `text` that is a proper prefix of
// `tag`.
size_t PartialTagSuffix(absl::string_view text, absl::string_view tag) {
  const size_t most = std::min(text.size(), tag.size() - 1);
  for (size_t n = most; n > 0; --n) {
    if (absl::StartsWith(tag, text.substr(text.size() - n))) return n;
  }
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_reasoning, std::string open,
                                     std::string close)
    : open_(std::move(open)),
      close_(std::move(close)),
      state_(starts_in_reasoning ? State::kReasoning : State::kStart) {}

ReasoningSplitter::Parts ReasoningSplitter::Add(absl::string_view text) {
  Parts parts;
  held_.append(text.data(), text.size());
  absl::string_view rest = held_;
  while (true) {
    switch (state_) {
      case State::kStart: {
        const absl::string_view trimmed =
            absl::StripLeadingAsciiWhitespace(rest);
        if (absl::StartsWith(trimmed, open_)) {
          rest = trimmed.substr(open_.size());
          state_ = State::kReasoning;
          continue;
        }
        if (absl::StartsWith(open_, trimmed)) {
          // All whitespace, or a partial open tag: wait.
          held_ = std::string(rest);
          return parts;
        }
        state_ = State::kContent;
        continue;
      }
      case State::kReasoning: {
        const size_t pos = rest.find(close_);
        if (pos != absl::string_view::npos) {
          parts.reasoning.append(rest.data(), pos);
          rest.remove_prefix(pos + close_.size());
          state_ = State::kAfterClose;
          continue;
        }
        const size_t partial = PartialTagSuffix(rest, close_);
        parts.reasoning.append(rest.data(), rest.size() - partial);
        held_ = std::string(rest.substr(rest.size() - partial));
        return parts;
      }
      case State::kAfterClose:
        rest = absl::StripLeadingAsciiWhitespace(rest);
        if (rest.empty()) {
          held_.clear();
          return parts;
        }
        state_ = State::kContent;
        continue;
      case State::kContent:
        parts.content.append(rest.data(), rest.size());
        held_.clear();
        return parts;
    }
  }
}

ReasoningSplitter::Parts ReasoningSplitter::Flush() {
  Parts parts;
  if (state_ == State::kReasoning) {
    parts.reasoning = std::move(held_);
  } else {
    parts.content = std::move(held_);
  }
  held_.clear();
  return parts;
}

}  // namespace sluice::worker
