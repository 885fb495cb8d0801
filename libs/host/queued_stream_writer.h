// A ServerWriteReactor fed from any thread: Push() chunks and End() with a
// status; one write is in flight at a time and the rest wait in a queue.
// The object deletes itself once the gRPC call is done and every extra hold
// taken by a subclass (an upstream call, an HTTP transfer) is released.
//
// gRPC calls (StartWrite, Finish) are made without the queue's lock held:
// called from a thread that is not one of gRPC's (a Redis or curl event
// thread), gRPC may run the resulting reaction (OnWriteDone) inline, on the
// calling thread, before StartWrite returns — with the in-process transport
// it does.
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
    const Chunk* write = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (ended_ || gone_) return;
      pending_.push_back(std::move(chunk));
      if (writing_) return;
      writing_ = true;
      // A deque keeps references to its elements across push_back.
      write = &pending_.front();
    }
    this->StartWrite(write);
  }

  // Thread-safe. Finishes after the queued chunks are written. Once only.
  void End(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      ended_ = true;
      status_ = status;
      if (writing_ || finished_) return;
      finished_ = true;
    }
    this->Finish(status);
  }

 protected:
  // `extra_holds`: how many Release() calls besides the call's own OnDone.
  explicit QueuedStreamWriter(int extra_holds = 0) : holds_(1 + extra_holds) {}
  ~QueuedStreamWriter() override = default;

  // Called once, without the lock, when the caller cancels or a write fails.
  virtual void OnDownstreamGone() {}

  // Takes one more hold, to be given back with Release().
  void AddHold() { holds_.fetch_add(1, std::memory_order_relaxed); }

  void Release() {
    if (holds_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override {
    bool gone_now = false;
    const Chunk* next = nullptr;
    bool finish = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      pending_.pop_front();
      if (!ok && !gone_) {
        gone_ = gone_now = true;
        pending_.clear();
      }
      if (!pending_.empty()) {
        writing_ = true;
        next = &pending_.front();
      } else if (ended_ && !finished_) {
        finished_ = finish = true;
        status = status_;
      }
    }
    if (gone_now) OnDownstreamGone();
    if (next != nullptr) {
      this->StartWrite(next);
    } else if (finish) {
      this->Finish(status);
    }
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
