#include "services/worker/text/stop_matcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace sluice::worker {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string& stop : stops) {
    if (stop.empty()) continue;
    longest_ = std::max(longest_, stop.size());
    stops_.push_back(std::move(stop));
  }
}

StopMatcher::Match StopMatcher::FindStop(absl::string_view text) const {
  Match best;
  for (size_t s = 0; s < stops_.size(); ++s) {
    const size_t pos = text.find(stops_[s]);
    if (pos == absl::string_view::npos) continue;
    if (pos < best.pos ||
        (pos == best.pos && stops_[s].size() > stops_[best.stop].size())) {
      best.pos = pos;
      best.stop = static_cast<int>(s);
    }
  }
  return best;
}

size_t StopMatcher::FirstPartialStart(absl::string_view text) const {
  const size_t earliest =
      text.size() >= longest_ ? text.size() - longest_ + 1 : 0;
  for (size_t start = earliest; start < text.size(); ++start) {
    const absl::string_view tail = text.substr(start);
    for (const std::string& stop : stops_) {
      if (stop.size() > tail.size() && absl::StartsWith(stop, tail)) {
        return start;
      }
    }
  }
  return text.size();
}

StopMatcher::Result StopMatcher::Add(absl::string_view text) {
  Result result;
  if (stopped_) {
    result.stopped = true;
    return result;
  }
  if (stops_.empty()) {
    result.emit = std::string(text);
    return result;
  }
  held_.append(text.data(), text.size());
  const absl::string_view pending = held_;
  const Match match = FindStop(pending);
  // A stop that started earlier may still complete: wait for it. (held_
  // stays shorter than the longest stop string.)
  const size_t partial = FirstPartialStart(pending);
  if (match.pos != absl::string_view::npos && match.pos <= partial) {
    result.emit = std::string(pending.substr(0, match.pos));
    result.stopped = stopped_ = true;
    matched_ = match.stop;
    held_.clear();
    return result;
  }
  result.emit = std::string(pending.substr(0, partial));
  held_.erase(0, partial);
  return result;
}

std::string StopMatcher::Flush() {
  std::string out = std::move(held_);
  held_.clear();
  if (stopped_) return "";
  const Match match = FindStop(out);
  if (match.pos != absl::string_view::npos) {
    out.resize(match.pos);
    stopped_ = true;
    matched_ = match.stop;
  }
  return out;
}

}  // namespace sluice::worker
