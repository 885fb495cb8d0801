// The upstream simulator: a real HTTP server that stands in for hosted LLM
// providers in tests and as the demo provider of `./dev up`.
//   POST /v1/chat/completions  OpenAI / DeepSeek chat completions (+ SSE)
//   POST /v1/messages          Anthropic Messages (+ SSE)
//   GET  /v1/models            a few model ids
//   GET  /sim/stats            Stats as JSON
//   POST /sim/reset            clears stats, queued faults and the prompt
//                              cache
//   POST /sim/faults           {"fault":"500","count":3}: the next 3 chat
//                              requests without an x-sim-fault header fail
//                              ("after":N: stall/cut/malformed after N
//                              tokens instead of x-sim-fault-after's)
// Answers are deterministic (answer.h); latency and faults are set per
// simulator (SimulatorOptions) or per request (x-sim-* headers, controls.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"
#include "tools/upstream-sim/fault_plan.h"
#include "tools/upstream-sim/request.h"
#include "tools/upstream-sim/script_player.h"
#include "tools/upstream-sim/stats.h"

namespace sluice::sim {

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                                // 0 picks a free port
  int threads = 2;                                  // HTTP I/O threads
  absl::Duration ttft = absl::ZeroDuration();       // time to first token
  absl::Duration per_token = absl::ZeroDuration();  // between tokens
  // When set, OpenAI requests need "Authorization: Bearer <key>" and
  // Anthropic requests "x-api-key: <key>"; others get 401.
  std::string required_api_key;
  // The fault of every request that names none and finds none queued.
  Fault fault = Fault::kNone;
  // A request's max_tokens is also its answer's length: the content is
  // padded with filler words up to it (long answers for benchmarks and
  // flow-control tests; the rule of answer.h otherwise).
  bool fill_to_max_tokens = false;
  // False: OpenAI-format usage without prompt_tokens_details,
  // completion_tokens_details and DeepSeek's cache fields (vLLM's and
  // llama-server's usage); the Anthropic format is unchanged.
  bool usage_details = true;
};

class Simulator {
 public:
  static absl::StatusOr<std::unique_ptr<Simulator>> Start(
      const SimulatorOptions& options);
  ~Simulator();  // Shutdown()s

  uint16_t port() const { return server_->port(); }
  Stats stats() const { return stats_.Snapshot(); }
  // What POST /sim/reset does.
  void Reset();
  // Stops serving (open streams are closed). Idempotent.
  void Shutdown();

 private:
  explicit Simulator(const SimulatorOptions& options);

  void AddRoutes();
  void Chat(const http::Request& request, http::ResponseWriterPtr writer,
            Api api);
  void QueueFaults(const http::Request& request, http::ResponseWriter& writer);
  // True when the prompt was seen before (the simulated prompt cache).
  bool SeenPrompt(const std::string& key);
  // Requests with this prompt so far, this one included.
  int CountArrival(const std::string& prompt_key);

  const SimulatorOptions options_;
  FaultPlan faults_;
  StatsRecorder stats_;
  ScriptPlayer player_;
  http::PathRouter routes_;
  http::ServerPtr server_;

  absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_prompts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> arrivals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::sim
