// An asynchronous HTTP client over libcurl's multi interface, for calling
// LLM providers: pooled keep-alive connections (HTTP/2 where offered), TLS
// verification on, streamed bodies, and per-call connect, first-byte, stall
// and total timeouts. Callers never block: callbacks run on the client's
// event thread and must be quick.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sluice::upstream {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Minutes(10);
  absl::Duration first_byte_timeout = absl::ZeroDuration();  // 0 = none
  absl::Duration stall_timeout = absl::ZeroDuration();  // max gap between bytes
};

struct HttpResponseHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  absl::string_view Header(absl::string_view lower_name) const;
};

struct HttpCallbacks {
  std::function<void(const HttpResponseHead&)> on_head;  // once, before body
  std::function<void(absl::string_view)> on_body;        // zero or more times
  // Exactly once. OK when the exchange completed (any HTTP status);
  // DEADLINE_EXCEEDED naming the timeout; UNAVAILABLE when the connection
  // failed; CANCELLED after Cancel().
  std::function<void(absl::Status)> on_done;
};

using CallId = uint64_t;

struct HttpClientOptions {
  long max_total_connections = 256;
  long max_host_connections = 64;
  bool http2 = true;
};

class HttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(
      const HttpClientOptions& options = {});
  virtual ~HttpClient() = default;

  // Thread-safe.
  virtual CallId Start(HttpRequest request, HttpCallbacks callbacks) = 0;
  // Thread-safe; a call still running ends with CANCELLED.
  virtual void Cancel(CallId id) = 0;
};

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Blocks until the call is done: for tests and command-line tools only,
// never on a reactor thread.
absl::StatusOr<HttpResult> Fetch(HttpClient& client, HttpRequest request);

}  // namespace sluice::upstream
