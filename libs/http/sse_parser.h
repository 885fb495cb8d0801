// An incremental parser of server-sent events, for clients reading an
// upstream's stream: feed bytes as they arrive, in any split.
#pragma once

#include <functional>
#include <string>

#include "absl/strings/string_view.h"

namespace sluice::http {

class SseParser {
 public:
  struct Event {
    std::string event;  // "event:" field; empty means "message"
    std::string data;   // "data:" lines joined with '\n'
    std::string id;
  };

  explicit SseParser(
      std::function<void(const Event&)> on_event,
      std::function<void(absl::string_view)> on_comment = nullptr)
      : on_event_(std::move(on_event)), on_comment_(std::move(on_comment)) {}

  void Feed(absl::string_view bytes);

 private:
  void Line(absl::string_view line);

  std::function<void(const Event&)> on_event_;
  std::function<void(absl::string_view)> on_comment_;
  std::string partial_;
  bool skip_lf_ = false;  // the previous chunk ended in '\r'
  bool first_line_ = true;
  Event event_;
  bool has_data_ = false;
};

}  // namespace sluice::http
