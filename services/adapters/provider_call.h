// The HTTP plumbing both provider families share, for a whole answer and
// for a streamed (SSE) one. Callbacks run on the HttpClient's event thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/http/sse_parser.h"
#include "libs/upstream/http_client.h"
#include "services/adapters/provider.h"

namespace sluice::adapters {

struct SseCallHandlers {
  // Sees the response head first (e.g. to rest a key after a 429).
  std::function<void(const upstream::HttpResponseHead&)> on_head;
  // One event of a 200 answer; false when the sink's window is full (the
  // upstream read then pauses until the sink resumes it).
  std::function<bool(const http::SseParser::Event&)> on_event;
  std::function<absl::Status(absl::Status transport,
                             const upstream::HttpResponseHead& head,
                             absl::string_view error_body)>
      finish;
};

// The most of a whole answer kept in memory: far above any real chat
// completion (128k tokens of text is under 1 MB), so only a runaway or
// hostile upstream reaches it.
inline constexpr size_t kMaxAnswerBody = 32 * 1024 * 1024;

// A call whose answer is read whole: `done` gets the transport's status,
// the head and the body; past kMaxAnswerBody the call is cut and `done`
// gets UNAVAILABLE as a 502 (what was read is dropped).
CancelCall StartBodyCall(
    upstream::HttpClient* client, upstream::HttpRequest request,
    std::function<void(const upstream::HttpResponseHead&)> on_head,
    std::function<void(absl::Status transport,
                       const upstream::HttpResponseHead& head,
                       std::string body)>
        done);

// A streamed call: the events of a 200 answer go to `on_event` as they are
// parsed; the body of any other status is kept (up to 64 KiB) for the
// error; at the end `finish` turns the transport's status, the head and
// that body into the stream's end status, which goes to `sink->Done()`.
// `sink->Start()` gets the flow that resumes a paused read. `sink` must
// stay alive until its Done().
CancelCall StartSseCall(upstream::HttpClient* client,
                        upstream::HttpRequest request,
                        SseCallHandlers handlers, ChunkSink* sink);

}  // namespace sluice::adapters
