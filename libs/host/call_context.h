// What travels with every call between components, co-hosted or remote: the
// deadline, cancellation, the trace context and the caller the edge
// authenticated. A component's methods take it as their first argument
// (Service Weaver's context.Context); the gRPC glue (grpc_context.h) turns it
// into metadata and back.
//
// Cancellation runs downstream: cancelling a context cancels every child
// made from it (the calls it made), never its parent. The other direction,
// a callee that ends early, is the callee's answer (a unary callback or a
// stream's Done) arriving before the caller expected it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sluice::host {

class CallContext;
using CallContextPtr = std::shared_ptr<CallContext>;

// Who a call is made for: the tenant and key the edge authenticated (empty
// for calls sluice makes on its own behalf).
struct Caller {
  std::string tenant;
  std::string key_id;
  // The caller's work can wait (batch lines, async jobs): it queues behind
  // interactive work wherever calls queue.
  bool batch = false;
};

class CallContext : public std::enable_shared_from_this<CallContext> {
 public:
  struct Options {
    absl::Time deadline = absl::InfiniteFuture();
    std::string request_id;
    // W3C traceparent of the span the call belongs to; may be empty.
    std::string traceparent;
    Caller caller;
  };

  static CallContextPtr Create(Options options);
  ~CallContext();
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  // A context for a call made while serving this one: the same request id,
  // trace and caller, the earlier of the two deadlines, cancelled when this
  // one is (cancelling it leaves this one alone).
  CallContextPtr Child(absl::Time deadline = absl::InfiniteFuture());
  // A child for the span and the caller the edge has just established
  // (after authentication): the same request id and deadline.
  CallContextPtr ChildFor(std::string traceparent, Caller caller);

  absl::Time deadline() const { return deadline_; }
  const std::string& request_id() const { return request_id_; }
  const std::string& traceparent() const { return traceparent_; }
  const Caller& caller() const { return caller_; }

  // Thread-safe and idempotent: runs the hooks (on this thread) and
  // cancels the children.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  using HookId = uint64_t;
  // Runs `hook` once when the context is cancelled: at once, on this thread,
  // when it already is (then 0 is returned). Hooks run without any lock
  // held, must be quick and may call anything but Forget() on this context.
  HookId OnCancel(absl::AnyInvocable<void() &&> hook);
  // Drops a hook that has not run. A hook that a concurrent Cancel() has
  // already taken may still run: hooks hold what they touch (a weak_ptr or
  // a shared_ptr), never a bare pointer to a shorter-lived object.
  void Forget(HookId id);

 private:
  explicit CallContext(Options options);
  // A child with `options`, cancelled with this one.
  CallContextPtr Link(Options options);

  const absl::Time deadline_;
  const std::string request_id_;
  const std::string traceparent_;
  const Caller caller_;
  // A child keeps its parent alive, and its hook on the parent is dropped
  // when it goes.
  CallContextPtr parent_;
  HookId parent_hook_ = 0;

  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  HookId next_hook_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::pair<HookId, absl::AnyInvocable<void() &&>>> hooks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::host
