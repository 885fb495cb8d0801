// The upstream simulator: a real HTTP server that stands in for hosted LLM
// providers (OpenAI/DeepSeek chat completions, Anthropic messages) in tests
// and as the demo provider of `./dev up`. Answers are deterministic; latency
// and faults are injectable per request (x-sim-* headers) or queued through
// POST /sim/faults; GET /sim/stats reports what was served.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/http/path_router.h"
#include "libs/http/server.h"

namespace sluice::sim {

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int ttft_ms = 0;   // delay before the first token
  int token_ms = 0;  // delay between tokens
  std::string required_api_key;  // empty: no auth
};

class Simulator {
 public:
  static absl::StatusOr<std::unique_ptr<Simulator>> Start(
      const SimulatorOptions& options);
  ~Simulator();

  uint16_t port() const { return server_->port(); }
  std::string StatsJson() const;
  void Shutdown();

 private:
  struct Arrival {
    int64_t ms;
    std::string model;
    std::string fault;
  };

  explicit Simulator(const SimulatorOptions& options);
  void Chat(const http::Request& request, http::ResponseWriterPtr writer,
            bool anthropic);
  void Faults(const http::Request& request, http::ResponseWriter& writer);
  // The fault for this request: its header, else the next queued one.
  std::string TakeFault(const http::Request& request);
  // Runs `fn` after `delay` on the simulator's timer thread.
  void After(absl::Duration delay, std::function<void()> fn);
  void Count(int status, int64_t prompt, int64_t completion);

  SimulatorOptions options_;
  absl::Time started_;
  boost::asio::io_context timers_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread timer_thread_;
  http::PathRouter paths_;
  http::ServerPtr server_;

  mutable absl::Mutex mu_;
  std::deque<std::string> queued_faults_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> seen_prompts_ ABSL_GUARDED_BY(mu_);
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int, int64_t> by_status_ ABSL_GUARDED_BY(mu_);
  int64_t prompt_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completion_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Arrival> arrivals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::sim
