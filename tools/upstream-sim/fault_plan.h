// The failures the simulator can inject, and which request gets which: the
// request's own `x-sim-fault` header, else the next queued fault (POST
// /sim/faults {"fault":"500","count":3}), else the simulator-wide default.
#pragma once

#include <deque>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace sluice::sim {

enum class Fault {
  kNone,
  k429,        // 429 rate_limit_error with Retry-After
  k500,        // 500 server_error / api_error
  k503,        // 503 server_error / overloaded_error
  k529,        // 529 overloaded_error (Anthropic's "overloaded")
  kReset,      // the connection closes without an answer
  kStall,      // a stream sends some tokens, then nothing until the client
               // leaves; a plain response never comes
  kTruncate,   // the answer stops early with finish_reason "length"
  kMalformed,  // one invalid JSON event mid-stream; a plain body is cut
  kCut,        // a stream ends (chunked end) after some tokens, without
               // [DONE] / message_stop; a plain response is a reset
  kEchoKey,    // 401 whose message quotes, whole, the API key the request
               // sent (as some providers' errors do): a secret the gateway
               // must keep out of what it says and records
};

// "none", "429", "500", "503", "529", "reset", "stall", "truncate",
// "malformed", "cut", "echo-key"; nullopt for anything else.
std::optional<Fault> ParseFault(absl::string_view name);
absl::string_view FaultName(Fault fault);

// A fault and, for stall/cut/malformed, how many tokens come first (unset:
// the request's x-sim-fault-after, default 2).
struct PlannedFault {
  Fault fault = Fault::kNone;
  std::optional<int> after_tokens;
};

// Thread-safe.
class FaultPlan {
 public:
  explicit FaultPlan(Fault fallback) : fallback_(fallback) {}

  // The next `count` requests without their own fault get `fault`.
  void Queue(Fault fault, int count,
             std::optional<int> after_tokens = std::nullopt);
  // The fault for a request whose header did not name one.
  PlannedFault Take();
  // Forgets queued faults (the default stays).
  void Clear();

 private:
  const Fault fallback_;
  absl::Mutex mu_;
  std::deque<PlannedFault> queued_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::sim
