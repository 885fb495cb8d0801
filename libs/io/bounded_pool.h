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
  BoundedPool(int threads, size_t max_queued);
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
  void Run();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // last: start once the rest exists
};

}  // namespace sluice::io
