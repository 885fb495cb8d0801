// What the simulator has served: counts and a log of chat requests (the
// provider endpoints; /sim/* and /v1/models are not counted).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace sluice::sim {

struct Arrival {
  int64_t ms = 0;     // arrival, ms since the simulator started (steady)
  std::string path;   // "/v1/chat/completions" or "/v1/messages"
  std::string model;  // empty if the body had none
  std::string fault;  // "none", "429", ...
  int status = 0;     // 0: the connection was dropped without an answer
  bool stream = false;
  std::string key;  // last 4 characters of the API key sent, or empty
  // The answer (none when refused): its prompt (Answer::prompt_key) and the
  // usage it reports.
  std::string prompt_key;
  int64_t prompt_tokens = 0;
  int64_t cache_hit_tokens = 0;
  int64_t completion_tokens = 0;  // reasoning included
  int64_t reasoning_tokens = 0;
  // What of it was written before the client went (a stream's tokens up to
  // a cut or a stall; none after a malformed event, which no client reads
  // past), and whether the whole answer, usage included, was.
  int64_t sent_completion_tokens = 0;  // reasoning included
  int64_t sent_reasoning_tokens = 0;
  bool sent_usage = false;
  bool malformed = false;
};

struct Stats {
  int64_t requests = 0;
  std::map<int, int64_t> by_status;
  int64_t prompt_tokens = 0;      // of answered requests
  int64_t completion_tokens = 0;  // tokens actually sent
  std::vector<Arrival> arrivals;  // in arrival order
};

// {"requests":N,"by_status":{"200":N},"prompt_tokens":N,
//  "completion_tokens":N,"arrivals":[{"ms","path","model","fault","status",
//  "stream","key","prompt_key","prompt_tokens","cache_hit_tokens",
//  "completion_tokens","reasoning_tokens","sent_completion_tokens",
//  "sent_reasoning_tokens","sent_usage","malformed"}]}
std::string StatsToJson(const Stats& stats);

// Thread-safe.
class StatsRecorder {
 public:
  StatsRecorder() : start_(std::chrono::steady_clock::now()) {}

  // Ms since start, for Arrival::ms.
  int64_t NowMs() const;
  // Returns the arrival's index, for Sent().
  size_t Record(Arrival arrival, int64_t prompt_tokens,
                int64_t completion_tokens);
  // Adds to what arrival `index` sent: tokens, then (`whole`) the end of
  // the answer; a malformed event first stops the count.
  void Sent(size_t index, int64_t reasoning, int64_t content, bool whole,
            bool malformed = false);
  Stats Snapshot() const;
  void Clear();

 private:
  const std::chrono::steady_clock::time_point start_;
  mutable absl::Mutex mu_;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::sim
