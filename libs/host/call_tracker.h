// The calls a component has in flight, so that it can be stopped without
// pulling anything from under them: Drain() waits for them to end, cancels
// those still running at its deadline, and waits for those to end too.
// Every call holds a Ticket for as long as it can touch the component.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"

namespace sluice::host {

class CallTracker {
 public:
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept
        : tracker_(other.tracker_), id_(other.id_) {
      other.tracker_ = nullptr;
    }
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        Release();
        tracker_ = other.tracker_;
        id_ = other.id_;
        other.tracker_ = nullptr;
      }
      return *this;
    }
    ~Ticket() { Release(); }
    // False when the tracker was draining: the call must be refused.
    explicit operator bool() const { return tracker_ != nullptr; }

   private:
    friend class CallTracker;
    Ticket(CallTracker* tracker, uint64_t id) : tracker_(tracker), id_(id) {}
    void Release() {
      if (tracker_ != nullptr) tracker_->Remove(id_);
      tracker_ = nullptr;
    }
    CallTracker* tracker_ = nullptr;
    uint64_t id_ = 0;
  };

  // A ticket for a call running under `context` (cancelled if the drain's
  // deadline passes); an empty ticket once Drain() has begun.
  Ticket Enter(CallContextPtr context) {
    absl::MutexLock lock(&mu_);
    if (draining_) return Ticket();
    uint64_t id = next_id_++;
    calls_.emplace(id, std::move(context));
    return Ticket(this, id);
  }

  // Refuses new calls; waits for those in flight until `deadline`, then
  // cancels the rest and waits up to `cancel_wait` for them to end.
  // Returns how many were cancelled; false in `all_ended` if some never
  // ended (the caller must then keep the component alive: leak it).
  struct Drained {
    int cancelled = 0;
    bool all_ended = true;
  };
  Drained Drain(absl::Time deadline,
                absl::Duration cancel_wait = absl::Seconds(5)) {
    Drained drained;
    std::vector<CallContextPtr> late;
    {
      absl::MutexLock lock(&mu_);
      draining_ = true;
      auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return calls_.empty();
      };
      if (mu_.AwaitWithDeadline(absl::Condition(&empty), deadline)) {
        return drained;
      }
      for (auto& [id, context] : calls_) late.push_back(context);
    }
    drained.cancelled = static_cast<int>(late.size());
    for (const CallContextPtr& context : late) {
      if (context != nullptr) context->Cancel();
    }
    late.clear();
    absl::MutexLock lock(&mu_);
    auto empty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return calls_.empty();
    };
    drained.all_ended = mu_.AwaitWithTimeout(absl::Condition(&empty), cancel_wait);
    return drained;
  }

  size_t in_flight() const {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }

 private:
  void Remove(uint64_t id) {
    CallContextPtr context;  // released outside the lock
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    context = std::move(it->second);
    calls_.erase(it);
  }

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, CallContextPtr> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::host
