// How components hand answers back: a unary call ends in one Callback, a
// streamed one feeds a Sink with flow control.
//
// Flow control is a window: Next() returns false when the consumer holds
// enough, and the producer then stops reading its own source (an upstream
// socket, a gRPC stream) until the consumer calls Resume() on the Flow the
// producer gave it in Start(). Items the producer already has may still be
// delivered: a window is a bound on what is queued, not an exact count.
// That way a slow client slows the upstream read instead of growing a
// queue anywhere in between.
//
// Threading: a producer calls Start(), Next() and Done() one at a time (never
// concurrently) and with no lock of its own held. Resume() may come from any
// thread, at any time, also after Done() (then it does nothing).
#pragma once

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::host {

// Called exactly once, from any thread.
template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

class Flow {
 public:
  virtual ~Flow() = default;
  // The consumer has room again.
  virtual void Resume() = 0;
};
using FlowPtr = std::shared_ptr<Flow>;

template <typename T>
class Sink {
 public:
  virtual ~Sink() = default;
  // Before the first Next(), at most once: how to restart a paused producer.
  // A producer that never pauses may skip it.
  virtual void Start(FlowPtr flow) {}
  // One item. False: the window is full, pause until Resume().
  virtual bool Next(T item) = 0;
  // The last call: OK after the last item, else why the stream failed. The
  // sink must stay alive until then; the producer must not touch it after.
  virtual void Done(absl::Status status) = 0;
};

// A Flow that calls a function (for producers whose restart is one call).
class FunctionFlow final : public Flow {
 public:
  explicit FunctionFlow(absl::AnyInvocable<void()> resume)
      : resume_(std::move(resume)) {}
  void Resume() override { resume_(); }

 private:
  absl::AnyInvocable<void()> resume_;
};

}  // namespace sluice::host
