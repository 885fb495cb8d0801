// One target's queue: interactive calls before batch ones, each class fair
// across tenants by tokens (FairQueue), started as the target's limits
// allow (TargetLimits). Batch calls never take the target's last slot when
// it has more than one, so an interactive call waits for at most one
// in-flight call to finish, never behind a queue of batch work.
//
// Not thread-safe: the scheduler serializes access. The clock is the
// caller's (`now` everywhere).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/scheduler/fair_queue.h"
#include "services/scheduler/target_limits.h"

namespace sluice::scheduler {

// A call waiting for its turn.
struct QueuedCall {
  uint64_t id = 0;
  std::string tenant;
  double weight = 1.0;
  bool batch = false;
  // Prompt tokens (estimated) and the most the call may add: what the
  // token bucket is charged when it starts.
  int64_t prompt_tokens = 0;
  int64_t max_completion_tokens = 0;
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time enqueued;  // for the wait-time metric
  // The lease on the provider's shared limits, once granted (shared with
  // the call's Started, which releases it).
  std::shared_ptr<std::string> lease;
  // OK: go (the call holds its slot until Finish). Else why it never ran.
  absl::AnyInvocable<void(absl::Status) &&> start;

  int64_t charged_tokens() const { return prompt_tokens + max_completion_tokens; }
};

struct QueueBounds {
  size_t max_interactive = 1024;
  size_t max_batch = 100000;
};

// Toward a worker, batch calls leave in groups: once `max_batch` wait, or
// `max_wait` after the first of a group arrived, so that the worker's
// continuous batching starts full. Interactive calls never wait for it.
// max_batch 0: off.
struct MicroBatch {
  size_t max_batch = 0;
  absl::Duration max_wait = absl::Milliseconds(50);
};

class TargetQueue {
 public:
  TargetQueue(const TargetLimitsConfig& limits, const QueueBounds& bounds,
              absl::Time now, const MicroBatch& micro_batch = {});

  // Queues `call` (moved from only then), or refuses it when its class is
  // full, leaving it to the caller: RESOURCE_EXHAUSTED with a Retry-After
  // (the provider's pause when it paused us), or UNAVAILABLE when the
  // provider is down (its last kDownAfterFailures calls failed).
  absl::Status Enqueue(QueuedCall&& call);
  // The calls that start now (at most `max_calls`), in order; run each
  // one's `start` (outside any lock) with OK.
  std::vector<QueuedCall> TakeStartable(absl::Time now,
                                        size_t max_calls = SIZE_MAX) {
    return Take(now, max_calls, /*interactive=*/true, /*batch=*/true);
  }
  // The same, of one class only (shared limits ask for each class apart).
  // Batch calls still wait while interactive ones are queued.
  std::vector<QueuedCall> TakeStartable(absl::Time now, size_t max_calls,
                                        bool batch) {
    return Take(now, max_calls, !batch, batch);
  }
  // The queued calls whose deadline has passed, or that `gone` selects
  // (cancelled); run each one's `start` with why.
  template <typename Gone>
  std::vector<QueuedCall> TakeDropped(absl::Time now, Gone gone) {
    std::vector<QueuedCall> dropped;
    auto select = [&](const QueuedCall& call) {
      return call.deadline <= now || gone(call);
    };
    auto keep = [&](QueuedCall call) {
      ForgetDeadline(call.deadline);
      dropped.push_back(std::move(call));
    };
    interactive_.RemoveIf(select, keep);
    batch_.RemoveIf(select, keep);
    return dropped;
  }
  // A started call ended: frees its slot and charges its tenant for what
  // it really used.
  void Finish(const std::string& tenant, bool batch, int64_t charged_tokens,
              int64_t prompt_tokens, int64_t completion_tokens,
              int64_t estimated_prompt_tokens, absl::Time now);
  // The provider answered 429 with this Retry-After.
  void PauseUntil(absl::Time until, absl::Time now) {
    limits_.PauseUntil(until, now);
    last_now_ = now;
  }
  // The time now, for a full queue's Retry-After (the scheduler's clock).
  void Observe(absl::Time now) { last_now_ = now; }
  // A started call was answered (false) or failed upstream (true).
  void RecordOutcome(bool failed) { consecutive_failures_ = failed ? consecutive_failures_ + 1 : 0; }
  bool down() const { return consecutive_failures_ >= kDownAfterFailures; }

  static constexpr int kDownAfterFailures = 5;

  // When to look again without an event: a bucket refill, a pause's end or
  // a queued deadline; InfiniteFuture when only an event can help.
  absl::Time NextWake(absl::Time now);

  size_t queued() const { return interactive_.size() + batch_.size(); }
  size_t queued_batch() const { return batch_.size(); }
  size_t queued_interactive() const { return interactive_.size(); }
  int in_flight() const { return limits_.in_flight(); }
  double CounterOf(const std::string& tenant, bool batch) const {
    return batch ? batch_.CounterOf(tenant) : interactive_.CounterOf(tenant);
  }

 private:
  std::vector<QueuedCall> Take(absl::Time now, size_t max_calls,
                               bool interactive, bool batch);
  int BatchSlots() const;
  void ForgetDeadline(absl::Time deadline) {
    if (deadline == absl::InfiniteFuture()) return;
    auto it = deadlines_.find(deadline);
    if (it != deadlines_.end()) deadlines_.erase(it);
  }

  // Whether queued batch calls may start: a group has gathered (or waited
  // long enough); it stays open until the batch queue is empty or
  // max_batch of it have left.
  bool BatchOpen(absl::Time now);
  // After a full group left: the calls still queued gather the next one.
  void CloseGroup();

  QueueBounds bounds_;
  MicroBatch micro_batch_;
  // The arrival of the first batch call of the group gathering now;
  // InfiniteFuture: none gathering.
  absl::Time gathering_since_ = absl::InfiniteFuture();
  bool batch_open_ = false;
  size_t group_left_ = 0;  // calls of the open group that have left
  TargetLimits limits_;
  FairQueue<QueuedCall> interactive_;
  FairQueue<QueuedCall> batch_;
  int batch_in_flight_ = 0;
  int consecutive_failures_ = 0;
  // The latest time the scheduler passed in (for a full queue's Retry-After).
  absl::Time last_now_ = absl::InfinitePast();
  // The finite deadlines of the queued calls (most have none), for
  // NextWake without a walk over the queues.
  std::multiset<absl::Time> deadlines_;
};

}  // namespace sluice::scheduler
