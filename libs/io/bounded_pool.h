// A few threads for CPU-heavy work that must not run on an I/O or RPC
// callback thread (counting a long prompt's tokens), behind a bounded queue:
// TrySubmit refuses work once `max_queued` jobs wait, so that a burst makes
// callers fall back to something cheaper instead of queueing without end.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace sluice::io {

class BoundedPool {
 public:
  // `nice`: the threads' niceness (Linux, per thread), so that the work
  // yields the CPU to request threads when both want it (counting a 1 MB
  // prompt must not add to every small request's latency on two cores).
  BoundedPool(int threads, size_t max_queued, int nice = 0);
  // Runs what is queued, then joins the threads.
  ~BoundedPool();

  BoundedPool(const BoundedPool&) = delete;
  BoundedPool& operator=(const BoundedPool&) = delete;

  // Queues `work` for a pool thread; false (and `work` is dropped unrun)
  // when max_queued jobs wait already.
  bool TrySubmit(absl::AnyInvocable<void() &&> work);

  // Jobs waiting for a thread now.
  size_t queued() const;

 private:
  void Run(int nice);

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // last: start once the rest exists
};

}  // namespace sluice::io
