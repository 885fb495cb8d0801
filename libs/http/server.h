// HTTP/1.1 server on Boost.Beast/Asio: keep-alive, limits against abusive
// clients (body and header size, idle and slow-request timeouts) and
// streamed responses (chunked transfer encoding, used for server-sent events).
// Handlers run on the server's I/O threads and must not block: they answer
// through a ResponseWriter, which may be called later from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace boost::asio {
class io_context;
}

namespace sluice::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path plus query, as sent
  std::string path;    // target without the query
  std::string query;   // after '?', without it
  Headers headers;     // names lower-cased, in arrival order
  std::string body;
  std::string remote_address;

  // First header with this (lower-case) name, or empty.
  absl::string_view Header(absl::string_view lower_name) const;
};

// How a handler answers. Thread-safe; every call may come from any thread.
// Either Respond() once, or StartStream() then any number of Write*() then
// EndStream(). Calls after the client has gone are ignored.
//
// A stream's writes are queued for the client: beyond kStreamHighWater
// bytes queued a write returns false (the handler should stop producing),
// and once the client has read the queue down to kStreamLowWater the
// OnDrained callback runs. A client that reads slowly then slows its
// producer instead of growing the queue.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // A complete response with Content-Length.
  virtual void Respond(int status, Headers headers, std::string body) = 0;

  // Sends the status line and headers of a chunked response. For SSE pass
  // content-type text/event-stream in `headers`.
  virtual void StartStream(int status, Headers headers) = 0;
  // Writes one SSE event: "data: <data>\n\n" (multi-line data is split into
  // several data: lines, as the SSE spec requires). False when the queue
  // is past the high-water mark (the event is still queued).
  virtual bool WriteEvent(absl::string_view data) = 0;
  // Writes bytes as they are (an SSE comment, a raw chunk); returns as
  // WriteEvent().
  virtual bool WriteRaw(absl::string_view bytes) = 0;
  // Ends the chunked body. The connection is kept alive if the client asked.
  virtual void EndStream() = 0;
  // Closes the connection at once, ending whatever was sent so far without
  // a proper end (the client sees no answer, or a truncated one). For
  // simulating failing upstreams.
  virtual void Abort() = 0;

  // True once the client has disconnected.
  virtual bool ClientGone() const = 0;
  // Called once, from an I/O thread, when the client disconnects before the
  // response has ended. Set it before StartStream().
  virtual void SetOnClientGone(std::function<void()> callback) = 0;
  // Called from an I/O thread each time the queue drains to the low-water
  // mark after a write returned false.
  virtual void SetOnDrained(std::function<void()> callback) = 0;

  static constexpr int64_t kStreamHighWater = 64 * 1024;
  static constexpr int64_t kStreamLowWater = 16 * 1024;
};

using ResponseWriterPtr = std::shared_ptr<ResponseWriter>;
using Handler = std::function<void(Request request, ResponseWriterPtr writer)>;

// A request the server answered itself with an error (400, 408, 413, 431)
// without calling the handler.
struct RejectedRequest {
  int status = 0;
  std::string code;  // the OpenAI error code sent, e.g. "request_too_large"
  // Whatever of the head arrived and could be read: all of it for a 413
  // (the body limit is checked once the head is complete), the request line
  // and complete header lines for a slow or oversized head; empty if none.
  Headers headers;  // names lower-cased, in arrival order
  std::string method;
  std::string target;
  std::string remote_address;

  // First header with this (lower-case) name, or empty.
  absl::string_view Header(absl::string_view lower_name) const;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port: read it from Server::port().
  // The I/O threads to serve on (the process's, shared with the upstream
  // client); null: `threads` threads of the server's own. Must outlive the
  // server.
  boost::asio::io_context* io = nullptr;
  int threads = 1;
  uint64_t max_body_bytes = 4 * 1024 * 1024;  // larger bodies get 413
  // Larger heads get 431, and so do larger trailers of a chunked body (whose
  // chunk-size lines, with extensions, are held to 4 KiB: longer ones 400).
  uint32_t max_header_bytes = 64 * 1024;
  // Requests whose path starts with one of these prefixes may carry bodies
  // up to its limit instead of max_body_bytes (the longest matching prefix
  // wins; plain string prefixes, so "/v1/files" also matches "/v1/files/x").
  // E.g. {"/v1/files", 200 << 20} for file uploads. Chunked bodies are
  // bounded the same way.
  std::vector<std::pair<std::string, uint64_t>> body_limits_by_path_prefix;
  // Asked with the headers of a request that would carry a body over
  // max_body_bytes (a path above): false answers 401 before any of the body
  // is read, so that only known callers make the server hold large bodies.
  // Null: anyone may. Runs on an I/O thread: must be quick.
  std::function<bool(const Headers& headers)> may_send_large_body;
  // A large body's read time on top of request_read_timeout, per MiB.
  absl::Duration large_body_time_per_mib = absl::Milliseconds(500);
  // A connection waiting for its next request with no byte of it arriving
  // is closed silently after this. Also bounds each response write.
  absl::Duration idle_timeout = absl::Seconds(60);
  // From the first byte of a request until its head and body are complete;
  // a slower client gets 408 and the connection is closed.
  absl::Duration request_read_timeout = absl::Seconds(30);
  // (Either timeout: absl::InfiniteDuration() disables it.)
  // Open connections held at most (0: no cap). Past it a new connection's
  // first request gets 503 with Retry-After (reported to on_rejected) and
  // the connection closes; past it by a further eighth, new connections are
  // closed at once, so a flood cannot use up the process's file descriptors.
  int max_connections = 0;
  // Called once per RejectedRequest, on an I/O thread (several may call it
  // at once), before the error is written. Not called when a connection is
  // closed without an answer (idle timeout, client gone). Must not block
  // or throw.
  std::function<void(const RejectedRequest&)> on_rejected;
  // HTTPS: a PEM certificate chain and its PEM private key, read once by
  // StartServer; both empty: plain HTTP. TLS 1.2 and 1.3 only.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
};

class Server {
 public:
  virtual ~Server() = default;
  // The port actually bound.
  virtual uint16_t port() const = 0;
  // Stops accepting connections and closes the idle ones; a connection
  // answering a request closes after that answer. Idempotent.
  virtual void StopAccepting() = 0;
  // Stops accepting, closes connections, joins the I/O threads. Idempotent.
  virtual void Shutdown() = 0;
};

using ServerPtr = std::unique_ptr<Server>;

// Binds, listens and starts `options.threads` I/O threads.
absl::StatusOr<ServerPtr> StartServer(const ServerOptions& options,
                                      Handler handler);

}  // namespace sluice::http
