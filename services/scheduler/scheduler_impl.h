// The scheduler hosted in this process: a TargetQueue per provider in front
// of the adapters (see scheduler.h and target_queue.h).
//
// A queued call is answered RESOURCE_EXHAUSTED (429, Retry-After) when its
// class's queue is full, DEADLINE_EXCEEDED (504) when its deadline passes
// in the queue, CANCELLED when its caller goes away, and UNAVAILABLE while
// the scheduler drains. A provider's 429 pauses its queue until the
// Retry-After passes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/obs/metrics.h"
#include "services/adapters/adapters.h"
#include "services/scheduler/shared_gate.h"
#include "services/scheduler/target_queue.h"
#include "sluice/v1/config.pb.h"

namespace sluice::scheduler {

struct SchedulerOptions {
  // The scheduler's clock (tests move it).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Where its series go (null: the process's registry).
  obs::MetricsRegistry* metrics = nullptr;
};

class SchedulerImpl final : public adapters::Adapters {
 public:
  // `next` (the adapters) and `io` (for the wake-up timer) outlive it.
  static absl::StatusOr<std::unique_ptr<SchedulerImpl>> Create(
      const sluice::v1::Config& config, adapters::Adapters* next,
      boost::asio::io_context* io, SchedulerOptions options = {});
  ~SchedulerImpl() override;

  void Complete(host::CallContextPtr context, sluice::v1::AdapterRequest request,
                host::Callback<sluice::v1::ChatResponse> done) override;
  void StreamComplete(host::CallContextPtr context,
                      sluice::v1::AdapterRequest request,
                      host::Sink<sluice::v1::ChatChunk>* sink) override;

  // Refuses new calls and answers the queued ones UNAVAILABLE; calls in
  // flight finish on their own (their callers drain them).
  void Drain();

  // What a target holds now (tests, metrics).
  struct TargetState {
    size_t queued = 0;
    int in_flight = 0;
  };
  TargetState StateOf(const std::string& provider);
  // Looks again at every queue now (tests that moved the clock).
  void Poke() { Pump(); }

  // What a started call needs to be finished (public for the stream
  // wrapper in the .cc).
  struct Started {
    std::string provider;
    std::string tenant;
    bool batch = false;
    int64_t charged_tokens = 0;
    int64_t estimated_prompt_tokens = 0;
    // The caller's: a call that ends past it timed out on the caller's
    // account, not the provider's.
    absl::Time deadline = absl::InfiniteFuture();
    // Set when the provider's shared limits granted a lease.
    std::shared_ptr<std::string> lease;
    // Submitted to the queue, and taken from it to start.
    absl::Time queued_at;
    absl::Duration waited;
  };
  // A started call ended: `prompt` and `completion` as the provider counted
  // them (or estimated), `status` its outcome.
  void Finished(const Started& call, int64_t prompt, int64_t completion,
                const absl::Status& status);

 private:
  SchedulerImpl(const sluice::v1::Config& config, adapters::Adapters* next,
                boost::asio::io_context* io, SchedulerOptions options);

  // What the queue needs to know of a call, read before the request is
  // moved on.
  QueuedCall Describe(const host::CallContext& context,
                      const sluice::v1::AdapterRequest& request,
                      Started* started) const;
  // Queues `call` (its `start` set): run once, with OK when the call may go
  // or with why it never will.
  void Submit(const host::CallContextPtr& context, const std::string& provider,
              QueuedCall call);
  TargetQueue& TargetFor(const std::string& provider)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts a call that left a queue without running.
  void CountRefused(const std::string& provider, bool batch,
                    absl::string_view reason);
  // Starts what may start, answers what expired, arms the timer. One thread
  // pumps at a time; a Pump() meanwhile makes it go round once more.
  void Pump();
  void ArmTimer(absl::Time wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct Target;
  // An ask to a provider's shared limits, made outside the lock.
  struct Ask {
    std::string provider;
    SharedGate* gate;
    bool batch;
    std::vector<int64_t> tokens;
  };
  // With shared limits: drops the held calls that went away, takes more
  // from the queue and asks for them when it is time (into `asks`).
  void PumpShared(const std::string& provider, Target& target, absl::Time now,
                  std::vector<std::pair<QueuedCall, absl::Status>>& runs,
                  std::vector<Ask>& asks, absl::Time& wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The shared gate's answer for `provider`'s held calls of a class.
  void OnGateAnswer(const std::string& provider, bool batch,
                    absl::StatusOr<SharedGate::Answer> answer);

  adapters::Adapters* const next_;
  const SchedulerOptions options_;
  obs::MetricsRegistry& metrics_;
  const QueueBounds bounds_;
  absl::flat_hash_map<std::string, TargetLimitsConfig> limits_;
  // Worker providers' batch grouping (see MicroBatch).
  absl::flat_hash_map<std::string, MicroBatch> micro_batches_;
  absl::flat_hash_map<std::string, double> weights_;

  // The most calls one ask to the shared limits holds (a worker's batch
  // class: its micro-batch size).
  static constexpr size_t kMaxAskGroup = 32;

  absl::Mutex mu_;
  // A target's queue and its series in /metrics.
  struct Target {
    std::unique_ptr<TargetQueue> queue;
    obs::Gauge* queued_interactive;
    obs::Gauge* queued_batch;
    obs::Gauge* in_flight;
    obs::Histogram* wait_interactive;
    obs::Histogram* wait_batch;
    // Worker targets: the sizes of the batch groups that left together.
    obs::Histogram* micro_batch_size = nullptr;
    // With shared limits (scheduler.redis): the gate, and per class the
    // calls that wait for its answer (taken from the queue in order,
    // holding local slots), asking together again at `ask_at`.
    std::unique_ptr<SharedGate> gate;
    struct Held {
      std::vector<QueuedCall> calls;
      bool asking = false;
      absl::Time ask_at = absl::InfinitePast();
    };
    Held held[2];  // interactive, batch
    // The most calls of a class one ask holds: a worker's micro-batch.
    size_t max_group[2] = {kMaxAskGroup, kMaxAskGroup};
  };
  absl::flat_hash_map<std::string, Target> targets_ ABSL_GUARDED_BY(mu_);
  // The queued calls' details, by id.
  struct Waiting {
    host::CallContextPtr context;
    host::CallContext::HookId cancel_hook = 0;
  };
  absl::flat_hash_map<uint64_t, Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> cancelled_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool pumping_ ABSL_GUARDED_BY(mu_) = false;
  bool pump_again_ ABSL_GUARDED_BY(mu_) = false;
  boost::asio::steady_timer timer_ ABSL_GUARDED_BY(mu_);
  absl::Time timer_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // What a timer handler reaches the scheduler through: null once the
  // scheduler is going (its destructor waits for a handler in progress).
  struct TimerGuard {
    absl::Mutex mu;
    SchedulerImpl* scheduler ABSL_GUARDED_BY(mu) = nullptr;
  };
  std::shared_ptr<TimerGuard> timer_guard_ = std::make_shared<TimerGuard>();
  // Last: destroyed first, while what its callbacks touch is still here.
  std::unique_ptr<redis::RedisClient> redis_;
};

}  // namespace sluice::scheduler
