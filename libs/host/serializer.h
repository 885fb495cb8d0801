// Runs closures one at a time, in the order they were queued, on whichever
// thread queues one while none is running (a combiner, as gRPC's core calls
// it). A call's state machine queues every event it gets (an answer, a
// chunk, a timer, a cancellation) and so needs no lock of its own, holds
// none while it calls other components, and cannot deadlock when a callee
// answers inline, on the caller's own stack: that answer is queued and runs
// right after the current closure, on the same thread. No thread hand-off.
#pragma once

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace sluice::host {

class Serializer {
 public:
  using Closure = absl::AnyInvocable<void() &&>;

  // Runs `closure` now on this thread if nothing is running, else queues it
  // for the thread that is. The owner must stay alive until Run() returns
  // (the caller holds a shared_ptr to it across the call) and until every
  // queued closure has run (closures hold one too).
  void Run(Closure closure) {
    {
      absl::MutexLock lock(&mu_);
      if (running_) {
        queue_.push_back(std::move(closure));
        return;
      }
      running_ = true;
    }
    std::move(closure)();
    Drain();
  }

 private:
  void Drain() {
    for (;;) {
      Closure next;
      {
        absl::MutexLock lock(&mu_);
        if (queue_.empty()) {
          running_ = false;
          return;
        }
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      std::move(next)();
    }
  }

  absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Closure> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::host
