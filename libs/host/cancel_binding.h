// Ties the cancel function of one call in flight to its context: cancelling
// the context cancels the call, until the call has ended. Bind() and End()
// may race (the call can end on another thread before Bind() returns).
#pragma once

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/call_context.h"

namespace sluice::host {

class CancelBinding {
 public:
  explicit CancelBinding(CallContextPtr context)
      : context_(std::move(context)) {}
  ~CancelBinding() { End(); }
  CancelBinding(const CancelBinding&) = delete;
  CancelBinding& operator=(const CancelBinding&) = delete;

  const CallContextPtr& context() const { return context_; }

  // `cancel` (may be empty) runs if the context is cancelled before End().
  void Bind(absl::AnyInvocable<void() &&> cancel) {
    if (!cancel) return;
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
    }
    CallContext::HookId hook = context_->OnCancel(std::move(cancel));
    bool late;
    {
      absl::MutexLock lock(&mu_);
      late = ended_;
      if (!late) hook_ = hook;
    }
    if (late) context_->Forget(hook);
  }

  // The call ended: its cancel function is dropped. Idempotent.
  void End() {
    CallContext::HookId hook;
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      ended_ = true;
      hook = hook_;
    }
    context_->Forget(hook);
  }

 private:
  CallContextPtr context_;
  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  CallContext::HookId hook_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sluice::host
