// The inference engine: one decode loop over N slots of a llama.cpp context
// (continuous batching). Each step decodes one token for every generating
// slot and fills the rest of a per-step token budget with prompt chunks of
// the slots still reading their prompts, so a long prompt never freezes the
// other streams. Interactive requests are admitted before batch ones and may
// preempt a running batch request; a preempted request keeps its sampler and
// its tokens so far and resumes with the output it would have had. A new
// request takes the free slot whose cached tokens share the longest prefix
// with its prompt and decodes only the rest (prefix cache).
//
// Every callback runs on the engine's own thread, one at a time: they must
// not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/worker/engine/llama_handles.h"
#include "services/worker/engine/sampling.h"

namespace sluice::worker {

struct EngineOptions {
  std::string model_path;
  // Sequences decoded together; each has its own KV of `slot_context` tokens.
  int slots = 4;
  int slot_context = 2048;
  // KV streams beyond `slots` that only keep prompts for the prefix cache:
  // a burst of requests on one prompt no longer evicts the others.
  int cache_slots = 0;
  // Tokens decoded per step (generation first, then prompt chunks).
  int step_tokens = 256;
  // While streams are generating, prompt chunks are cut so that a step
  // takes about this long (estimated from the steps so far): streams keep
  // their pace. Zero: steps of `step_tokens`.
  absl::Duration step_target = absl::ZeroDuration();
  int threads = 2;
  int gpu_layers = 0;
};

struct GenerationUsage {
  int64_t prompt_tokens = 0;
  // Of the prompt, tokens whose KV was reused from a slot's cache.
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
};

struct GenerationResult {
  absl::Status status;
  // "stop" (end of generation or a stop string), "length" (max_tokens or the
  // slot's context).
  std::string finish_reason;
  GenerationUsage usage;
  int preemptions = 0;
  // It had a slot (its prompt was looked up in the prefix cache).
  bool placed = false;
};

struct GenerationRequest {
  std::vector<llama_token> prompt;
  SamplingParams sampling;
  // Interactive requests go first and may preempt batch ones.
  bool interactive = true;
  // Past it the request ends with DEADLINE_EXCEEDED, within one step.
  absl::Time deadline = absl::InfiniteFuture();
  // Each sampled token, in order (never an end-of-generation token). False:
  // stop here (a stop string matched): finish_reason "stop".
  std::function<bool(llama_token)> on_token;
  // Each time the request gets a slot (the first time ends its queue
  // time; a preempted request gets one again), with the slot's index;
  // optional.
  std::function<void(int slot)> on_start;
  // Exactly once, last.
  std::function<void(GenerationResult)> on_done;
};

// Read by Info and the metrics; a snapshot.
struct EngineStats {
  int slots = 0;
  int running = 0;
  int waiting = 0;
  int slot_context = 0;
  // Cells in use over all slots' KV, and their sum.
  int64_t kv_used = 0;
  int64_t kv_total = 0;
  // Token counts of each slot's cache (what a new prompt can reuse).
  std::vector<int> slot_cached_tokens;
};

// What the engine counts as it goes (vLLM's vocabulary); monotonic.
struct EngineCounters {
  std::atomic<int64_t> prompt_tokens{0};  // prompt tokens decoded
  std::atomic<int64_t> generation_tokens{0};
  std::atomic<int64_t> prefix_queries{0};  // prompt tokens looked up
  std::atomic<int64_t> prefix_hits{0};     // of those, reused
  std::atomic<int64_t> preemptions{0};
  // Prefixes copied from another slot's KV (see Admit).
  std::atomic<int64_t> prefix_copies{0};
  // Requests that waited for another slot to read the prompt they share,
  // then copied it (a burst on one new prompt reads it once).
  std::atomic<int64_t> prefix_follows{0};
  std::atomic<int64_t> steps{0};
  std::atomic<int64_t> requests_finished{0};
};

class Engine {
 public:
  class Handle {
   public:
    // The request ends within one step, with CANCELLED; its slot frees.
    void Cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

   private:
    std::atomic<bool> cancelled_{false};
  };
  using HandlePtr = std::shared_ptr<Handle>;

  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const EngineOptions& options);
  // Stop() if not yet.
  ~Engine();
  // Ends every request (UNAVAILABLE) and the loop; callbacks have all run
  // when it returns. Idempotent.
  void Stop();

  // Queues a request. A prompt that does not fit a slot ends at once with
  // INVALID_ARGUMENT (through on_done, on the calling thread).
  HandlePtr Submit(GenerationRequest request);

  const llama_vocab* vocab() const { return vocab_; }
  const llama_model* model() const { return model_.get(); }
  const EngineOptions& options() const { return options_; }
  EngineStats Stats() const;
  const EngineCounters& counters() const { return counters_; }
  // KV streams: slots plus cache slots (slot indices run over all).
  int streams() const { return options_.slots + options_.cache_slots; }

 private:
  struct Job;
  struct Slot;
  Engine(EngineOptions options, ModelPtr model, ContextPtr context);

  void Loop();
  // Moves queued jobs into free slots; preempts batch jobs for interactive
  // ones. Returns jobs cancelled while queued.
  void Admit();
  void Place(std::unique_ptr<Job> job, int slot);
  // A slot whose prompt another slot is still reading waits for it, then
  // copies its KV (one read of a prompt a burst of requests shares).
  void Follow(int slot, int leader, size_t until);
  void CatchUpFollowers();
  void CopyPrefix(int from, int to);
  void Preempt(int slot);
  // Builds and decodes one step; false when nothing was runnable.
  bool Step();
  // Prompt tokens this step may take, of `room`, beside `generating`
  // streams' tokens.
  int PromptBudget(int room, int generating) const;
  // Feeds a step's duration into the cost model behind step_target.
  void Measure(absl::Duration took, int generated, int prompt);
  void Finish(int slot, absl::Status status, std::string finish_reason);
  // Ends a job that holds no slot (queued, maybe after a preemption).
  void EndQueued(std::unique_ptr<Job> job, absl::Status status);
  // Publishes the slots' KV use and cached tokens for Stats().
  void PublishSlots();
  void FailAll(const absl::Status& status);

  const EngineOptions options_;
  ModelPtr model_;
  ContextPtr context_;
  const llama_vocab* vocab_;
  llama_batch batch_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  std::deque<std::unique_ptr<Job>> interactive_queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Job>> batch_queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Published copies for Stats() (the slots themselves are the loop's).
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> slot_kv_ ABSL_GUARDED_BY(mu_);
  std::vector<int> slot_cached_ ABSL_GUARDED_BY(mu_);

  std::vector<Slot> slots_;  // the loop thread's only
  int next_prefill_ = 0;     // rotates who reads its prompt first
  // The step cost model behind step_target: a step of only generated
  // tokens takes about step_base_ seconds; each prompt token adds
  // prompt_token_cost_ (moving averages; zero until measured).
  double step_base_ = 0;
  double prompt_token_cost_ = 0;
  EngineCounters counters_;
  std::thread thread_;
};

}  // namespace sluice::worker
