// Incremental server-sent events parser; see sse_parser.h.
#include "libs/http/sse_parser.h"

#include "absl/strings/strip.h"

namespace sluice::http {

void SseParser::Feed(absl::string_view bytes) {
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      Line(partial_);
      partial_.clear();
    } else {
      partial_.push_back(c);
    }
  }
}

void SseParser::Line(absl::string_view line) {
  if (first_line_) {
    first_line_ = false;
    absl::ConsumePrefix(&line, "\xEF\xBB\xBF");  // BOM
  }
  if (line.empty()) {  // dispatch
    if (has_data_) on_event_(event_);
    event_ = Event();
    has_data_ = false;
    return;
  }
  if (line.front() == ':') {
    if (on_comment_) on_comment_(line.substr(1));
    return;
  }
  absl::string_view field = line, value;
  if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    absl::ConsumePrefix(&value, " ");
  }
  if (field == "data") {
    if (has_data_) event_.data.push_back('\n');
    event_.data.append(value.data(), value.size());
    has_data_ = true;
  } else if (field == "event") {
    event_.event = std::string(value);
  } else if (field == "id") {
    event_.id = std::string(value);
  }
}

}  // namespace sluice::http
