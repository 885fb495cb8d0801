// Per-request knobs, read from x-sim-* headers over the simulator's defaults:
//   x-sim-ttft-ms: N        delay before the first token
//   x-sim-token-ms: N       delay between tokens
//   x-sim-fault: NAME       see fault_plan.h
//   x-sim-fault-after: N    tokens a stream sends before stall/cut/malformed
//                           (default 2)
//   x-sim-retry-after: N    Retry-After seconds of a 429 (default 1)
//   x-sim-keepalive: N      ": keep-alive" comments spread over the time to
//                           first token (stream), or N leading blank lines
//                           before a plain JSON body (DeepSeek's queueing)
//   x-sim-fault-times: N    the fault hits the first N requests with this
//                           prompt only (later ones, a retry say, are
//                           answered); default: every one
// The same controls can come as words of the last user message,
// `x-sim-fault=cut x-sim-fault-after=3`, for a test that reaches the
// simulator through a gateway (which forwards no client header); a word
// wins over a header.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/http/server.h"
#include "tools/upstream-sim/fault_plan.h"

namespace sluice::sim {

struct RequestControls {
  absl::Duration ttft;
  absl::Duration per_token;
  std::optional<Fault> fault;  // unset: the fault plan decides
  int fault_after_tokens = 2;
  int retry_after_seconds = 1;
  int keepalives = 0;
  std::optional<int> fault_times;  // unset: every request
};

// InvalidArgument for a header that is not a non-negative number or a known
// fault name.
// `prompt` is the last user message's text (may be empty).
absl::StatusOr<RequestControls> ReadControls(const http::Request& request,
                                             absl::string_view prompt,
                                             absl::Duration default_ttft,
                                             absl::Duration default_per_token);

}  // namespace sluice::sim
