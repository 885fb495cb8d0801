// The Worker component on the llama.cpp engine: renders the chat with the
// model's own template, tokenizes, queues the request on the engine and
// streams its tokens back as chat chunks (text, `<think>` reasoning, stop
// strings, exact usage).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/obs/metrics.h"
#include "services/worker/engine/engine.h"
#include "services/worker/worker.h"
#include "services/worker/worker_metrics.h"
#include "sluice/v1/config.pb.h"

namespace sluice::worker {

class LlamaWorker final : public Worker {
 public:
  static absl::StatusOr<std::unique_ptr<LlamaWorker>> Create(
      const sluice::v1::WorkerConfig& config, obs::MetricsRegistry& metrics);
  ~LlamaWorker() override;

  // Worker
  void Generate(host::CallContextPtr context, sluice::v1::ChatRequest request,
                host::Sink<sluice::v1::ChatChunk>* sink) override;
  void Tokenize(host::CallContextPtr context,
                sluice::v1::TokenizeRequest request,
                host::Callback<sluice::v1::TokenizeResponse> done) override;
  void Info(host::CallContextPtr context,
            host::Callback<sluice::v1::WorkerInfo> done) override;

  // The prompt as the model reads it: the chat through its template, with
  // the assistant's turn opened.
  absl::StatusOr<std::string> RenderPrompt(
      const sluice::v1::ChatRequest& request) const;
  absl::StatusOr<std::vector<llama_token>> TokenizeText(absl::string_view text,
                                                        bool special) const;
  Engine& engine() { return *engine_; }

 private:
  LlamaWorker(std::unique_ptr<Engine> engine, std::string model_name,
              std::string chat_template, int default_max_tokens,
              obs::MetricsRegistry& metrics);
  // The prompt a slot now holds.
  void HoldPrefixes(int slot, std::vector<uint64_t> chain);
  void PublishLoad();

  std::unique_ptr<Engine> engine_;
  const std::string model_name_;
  const std::string chat_template_;
  const int default_max_tokens_;
  WorkerMetrics metrics_;

  absl::Mutex mu_;
  // Per slot, the prefix chain of the prompt its cache holds (empty: none).
  std::vector<std::vector<uint64_t>> slot_prefixes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::worker
