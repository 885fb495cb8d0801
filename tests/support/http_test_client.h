// A blocking HTTP client for tests (libcurl easy): one call, whole answer.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct HttpAnswer {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case
  std::string body;
  std::string error;  // curl's error, when the transfer failed

  std::string Header(const std::string& lower_name) const;
};

// From now on, https:// calls of this process trust the PEM certificate in
// `ca_file` (instead of the system's).
void TrustCaFile(const std::string& ca_file);

HttpAnswer HttpCall(const std::string& method, const std::string& url,
                    const std::vector<std::string>& headers = {},
                    const std::string& body = "");

// As HttpCall, but the client hangs up as soon as `enough` says so of the
// body received so far (a client leaving a stream).
HttpAnswer HttpCallUntil(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers,
                         const std::string& body,
                         std::function<bool(const std::string& body)> enough);

// As HttpCall, but the client hangs up after `timeout_ms` (a client that
// does not wait for its answer).
HttpAnswer HttpCallWithin(const std::string& method, const std::string& url,
                          const std::vector<std::string>& headers,
                          const std::string& body, long timeout_ms);

// The data payloads of an SSE body, in order ("[DONE]" included).
std::vector<std::string> SseData(const std::string& body);

}  // namespace sluice::testing
