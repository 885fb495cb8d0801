// A ServerWriteReactor fed from any thread: Push() chunks and End() with a
// status; one write is in flight at a time and the rest wait in a queue.
// The object deletes itself once the gRPC call is done and every extra hold
// taken by a subclass (an upstream call, an HTTP transfer) is released.
#pragma once

#include <atomic>
#include <deque>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"

namespace sluice::host {

template <typename Chunk>
class QueuedStreamWriter : public grpc::ServerWriteReactor<Chunk> {
 public:
  // Thread-safe. Ignored after End() or once the caller has gone.
  void Push(Chunk chunk) {
    absl::MutexLock lock(&mu_);
    if (ended_ || gone_) return;
    pending_.push_back(std::move(chunk));
    if (!writing_) StartNextWriteLocked();
  }

  // Thread-safe. Finishes after the queued chunks are written. Once only.
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    status_ = status;
    if (!writing_) FinishLocked();
  }

 protected:
  // `extra_holds`: how many Release() calls besides the call's own OnDone.
  explicit QueuedStreamWriter(int extra_holds = 0) : holds_(1 + extra_holds) {}
  ~QueuedStreamWriter() override = default;

  // Called once, without the lock, when the caller cancels or a write fails.
  virtual void OnDownstreamGone() {}

  void Release() {
    if (holds_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override {
    bool gone_now = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      pending_.pop_front();
      if (!ok && !gone_) {
        gone_ = gone_now = true;
        pending_.clear();
      }
      if (!pending_.empty()) {
        StartNextWriteLocked();
      } else if (ended_) {
        FinishLocked();
      }
    }
    if (gone_now) OnDownstreamGone();
  }

  void OnCancel() override {
    bool gone_now = false;
    {
      absl::MutexLock lock(&mu_);
      if (!gone_) gone_ = gone_now = true;
    }
    if (gone_now) OnDownstreamGone();
  }

  void OnDone() override { Release(); }

  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    this->StartWrite(&pending_.front());
  }

  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    this->Finish(status_);
  }

  absl::Mutex mu_;
  std::deque<Chunk> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> holds_;
};

}  // namespace sluice::host
