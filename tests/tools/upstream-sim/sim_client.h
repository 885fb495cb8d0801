// A libcurl client for the simulator tests: whole answers with a deadline,
// the curl result (to see resets and timeouts), many requests at once, and
// SSE bodies split into events with our SseParser.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "libs/http/sse_parser.h"

namespace sluice::sim::testing {

struct Reply {
  long status = 0;                                           // 0: no response
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case
  std::string body;
  CURLcode result = CURLE_OK;

  std::string Header(const std::string& lower_name) const;
};

struct Call {
  std::string method = "POST";
  std::string path;
  std::string body;
  std::vector<std::string> headers;  // "name: value"
  absl::Duration timeout = absl::Seconds(20);
};

Reply Send(uint16_t port, const Call& call);
// All `calls` at once (one connection each); replies in the same order.
std::vector<Reply> SendAll(uint16_t port, const std::vector<Call>& calls);

struct SseBody {
  std::vector<http::SseParser::Event> events;
  int comments = 0;
  // The `data` of every event, in order.
  std::vector<std::string> Data() const;
};
SseBody ParseSse(const std::string& body);

}  // namespace sluice::sim::testing
