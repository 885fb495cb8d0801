// Incremental server-sent events parser; see sse_parser.h.
#include "libs/http/sse_parser.h"

#include "absl/strings/strip.h"

namespace sluice::http {

void SseParser::Feed(absl::string_view bytes) {
  while (!bytes.empty()) {
    if (skip_lf_) {  // the '\n' of a "\r\n" split across two calls
      skip_lf_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n");
    if (end == absl::string_view::npos) {
      partial_.append(bytes.data(), bytes.size());
      return;
    }
    absl::string_view line = bytes.substr(0, end);
    if (partial_.empty()) {
      Line(line);  // the common case: a whole line, no copy
    } else {
      partial_.append(line.data(), line.size());
      Line(partial_);
      partial_.clear();
    }
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        if (bytes[end + 1] == '\n') ++end;
      } else {
        skip_lf_ = true;
      }
    }
    bytes.remove_prefix(end + 1);
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
