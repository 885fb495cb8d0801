// An asynchronous HTTP client for calling LLM providers (OpenAI, DeepSeek,
// Anthropic, ...): pooled keep-alive connections (HTTP/2 where offered), TLS
// verification on, streamed bodies, and per-call connect, first-byte, stall
// and total timeouts. Callers never block: Start() and Cancel() only queue
// work, and the callbacks run on the client's event thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace boost::asio {
class io_context;
}

namespace sluice::upstream {

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Minutes(10);
  // Zero means none. Any response byte (a header line too) counts.
  absl::Duration first_byte_timeout = absl::ZeroDuration();
  // Zero means none: the longest gap allowed between bytes once some came.
  absl::Duration stall_timeout = absl::ZeroDuration();
};

struct HttpResponseHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  // The first value of a header, or empty.
  absl::string_view Header(absl::string_view lower_name) const;
};

// Called on the client's I/O threads (one at a time per client); each must
// return quickly and must not block (it may call Start() or Cancel()).
struct HttpCallbacks {
  // Once, with the final (non-1xx) head, before the first body byte or at
  // the end of a successful exchange with no body.
  std::function<void(const HttpResponseHead&)> on_head;
  // Zero or more times, in order. Returning false pauses the response: no
  // more body (and no stall or first-byte timeout) until Resume(); what
  // arrives meanwhile waits in the socket, so the upstream is slowed, not
  // buffered.
  std::function<bool(absl::string_view)> on_body;
  // Exactly once. OK when the exchange completed (whatever the HTTP status);
  // DEADLINE_EXCEEDED naming the timeout ("connect", "first byte", "stall",
  // "total"); UNAVAILABLE when the connection failed or broke (curl's message,
  // never headers or body); CANCELLED after Cancel() or client destruction.
  std::function<void(absl::Status)> on_done;
};
using HttpCallHandlers = HttpCallbacks;

using CallId = uint64_t;
using CallHandle = CallId;

struct HttpClientOptions {
  // The I/O threads to run on (shared with the HTTP server, say: a request
  // then goes upstream and back on the thread that read it). Null: the
  // client runs a thread of its own. Must outlive the client, and the
  // client must not be destroyed on one of its threads.
  boost::asio::io_context* io = nullptr;
  long max_total_connections = 256;
  long max_host_connections = 256;
  bool http2 = true;
  std::string ca_file;  // empty: the system's CA bundle
};

class HttpClient {
 public:
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(
      const HttpClientOptions& options = {});
  // Cancels every call still running (each gets on_done(CANCELLED)) and
  // joins the event thread.
  virtual ~HttpClient() = default;

  // Thread-safe; never blocks on the network.
  virtual CallId Start(HttpRequest request, HttpCallbacks callbacks) = 0;
  // Thread-safe; a call still running ends with CANCELLED, a finished or
  // unknown one is left alone.
  virtual void Cancel(CallId id) = 0;
  // Thread-safe: reads on after on_body returned false (a call that is not
  // paused, finished or unknown is left alone).
  virtual void Resume(CallId id) = 0;
};

using HttpClientPtr = std::unique_ptr<HttpClient>;

struct HttpResult {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Blocks until the call is done: for tests and command-line tools only.
// Never call it on a gRPC reactor or on the client's own event thread.
absl::StatusOr<HttpResult> Fetch(HttpClient& client, HttpRequest request);

}  // namespace sluice::upstream
