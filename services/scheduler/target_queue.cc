#include "services/scheduler/target_queue.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace sluice::scheduler {

TargetQueue::TargetQueue(const TargetLimitsConfig& limits,
                         const QueueBounds& bounds, absl::Time now,
                         const MicroBatch& micro_batch)
    : bounds_(bounds), micro_batch_(micro_batch), limits_(limits, now) {}

bool TargetQueue::BatchOpen(absl::Time now) {
  if (micro_batch_.max_batch == 0) return true;
  if (batch_.size() == 0) {
    batch_open_ = false;
    group_left_ = 0;
    gathering_since_ = absl::InfiniteFuture();
    return false;
  }
  if (!batch_open_ && (batch_.size() >= micro_batch_.max_batch ||
                       now >= gathering_since_ + micro_batch_.max_wait)) {
    batch_open_ = true;
  }
  return batch_open_;
}

absl::Status TargetQueue::Enqueue(QueuedCall&& call) {
  FairQueue<QueuedCall>& queue = call.batch ? batch_ : interactive_;
  size_t bound = call.batch ? bounds_.max_batch : bounds_.max_interactive;
  if (queue.size() >= bound) {
    std::string full = absl::StrCat("the provider's queue is full (", bound, " ",
                                    call.batch ? "batch" : "interactive",
                                    " requests waiting)");
    if (down()) {
      return absl::UnavailableError(absl::StrCat(
          full, " and its last ", consecutive_failures_, " calls failed: it is down"));
    }
    // Paused by the provider's 429: its own Retry-After says when.
    absl::Duration retry_after = absl::Seconds(1);
    if (limits_.paused_until() > last_now_) {
      retry_after = std::max(retry_after, limits_.paused_until() - last_now_);
    }
    return status::RateLimited(absl::StrCat(full, "; retry later"), retry_after);
  }
  if (call.deadline != absl::InfiniteFuture()) deadlines_.insert(call.deadline);
  if (call.batch && batch_.size() == 0) {
    // A new group (the last one may have emptied without a TakeStartable:
    // dropped, or taken by class through shared limits).
    batch_open_ = false;
    group_left_ = 0;
    gathering_since_ = call.enqueued;
  }
  std::string tenant = call.tenant;
  double weight = call.weight;
  queue.Push(tenant, weight, std::move(call));
  return absl::OkStatus();
}

int TargetQueue::BatchSlots() const {
  int cap = limits_.max_concurrency();
  if (cap <= 0) return 0;  // no cap
  return cap > 1 ? cap - 1 : cap;
}

std::vector<QueuedCall> TargetQueue::Take(absl::Time now, size_t max_calls,
                                         bool take_interactive, bool take_batch) {
  last_now_ = now;
  std::vector<QueuedCall> startable;
  while (startable.size() < max_calls) {
    bool batch = false;
    const QueuedCall* next = interactive_.Peek();
    if (next != nullptr) {
      if (!take_interactive) break;  // batch calls wait behind it
      if (limits_.ReadyAt(next->charged_tokens(), limits_.max_concurrency(), now) > now) {
        break;
      }
    } else {
      next = batch_.Peek();
      if (!take_batch || next == nullptr || !BatchOpen(now)) break;
      if (BatchSlots() > 0 && batch_in_flight_ >= BatchSlots()) break;
      if (limits_.ReadyAt(next->charged_tokens(), limits_.max_concurrency(), now) > now) {
        break;
      }
      batch = true;
    }
    FairQueue<QueuedCall>& queue = batch ? batch_ : interactive_;
    QueuedCall call = *queue.Pop();
    ForgetDeadline(call.deadline);
    limits_.Start(call.charged_tokens(), now);
    queue.Charge(call.tenant, call.prompt_tokens, 0);
    startable.push_back(std::move(call));
    if (batch) {
      ++batch_in_flight_;
      // A group is at most max_batch calls: past it, the rest gather into
      // the next one (already full, it leaves on the next take), counted
      // from when they were queued, so none waits more than max_wait
      // beyond its place in line.
      if (micro_batch_.max_batch > 0 && ++group_left_ >= micro_batch_.max_batch) {
        CloseGroup();
        break;
      }
    }
  }
  BatchOpen(now);  // a group that has all left closes
  return startable;
}

void TargetQueue::CloseGroup() {
  group_left_ = 0;
  batch_open_ = false;
  if (const QueuedCall* next = batch_.Peek()) gathering_since_ = next->enqueued;
}

void TargetQueue::Finish(const std::string& tenant, bool batch,
                         int64_t charged_tokens, int64_t prompt_tokens,
                         int64_t completion_tokens,
                         int64_t estimated_prompt_tokens, absl::Time now) {
  last_now_ = now;
  limits_.Finish(charged_tokens, prompt_tokens + completion_tokens, now);
  if (batch && batch_in_flight_ > 0) --batch_in_flight_;
  // The prompt was charged as estimated when the call started.
  (batch ? batch_ : interactive_)
      .Charge(tenant, prompt_tokens - estimated_prompt_tokens, completion_tokens);
}

absl::Time TargetQueue::NextWake(absl::Time now) {
  absl::Time wake = absl::InfiniteFuture();
  const bool gathering = micro_batch_.max_batch > 0 && !batch_open_;
  for (const FairQueue<QueuedCall>* queue : {&interactive_, &batch_}) {
    if (queue == &batch_ && gathering) continue;  // its group's time below
    if (const QueuedCall* next = queue->Peek()) {
      wake = std::min(wake, limits_.ReadyAt(next->charged_tokens(),
                                            limits_.max_concurrency(), now));
    }
  }
  if (!deadlines_.empty()) wake = std::min(wake, *deadlines_.begin());
  if (gathering && batch_.size() > 0) {
    wake = std::min(wake, gathering_since_ + micro_batch_.max_wait);
  }
  return wake;
}

}  // namespace sluice::scheduler
