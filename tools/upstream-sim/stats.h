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
//  "stream","key"}]}
std::string StatsToJson(const Stats& stats);

// Thread-safe.
class StatsRecorder {
 public:
  StatsRecorder() : start_(std::chrono::steady_clock::now()) {}

  // Ms since start, for Arrival::ms.
  int64_t NowMs() const;
  void Record(Arrival arrival, int64_t prompt_tokens,
              int64_t completion_tokens);
  Stats Snapshot() const;
  void Clear();

 private:
  const std::chrono::steady_clock::time_point start_;
  mutable absl::Mutex mu_;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::sim
