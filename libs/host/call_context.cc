#include "libs/host/call_context.h"

#include <algorithm>

namespace sluice::host {

CallContextPtr CallContext::Create(Options options) {
  return CallContextPtr(new CallContext(std::move(options)));
}

CallContext::CallContext(Options options)
    : deadline_(options.deadline),
      request_id_(std::move(options.request_id)),
      traceparent_(std::move(options.traceparent)),
      caller_(std::move(options.caller)) {}

CallContext::~CallContext() {
  if (parent_ != nullptr && parent_hook_ != 0) parent_->Forget(parent_hook_);
}

CallContextPtr CallContext::Child(absl::Time deadline) {
  return Link(Options{std::min(deadline, deadline_), request_id_, traceparent_,
                      caller_});
}

CallContextPtr CallContext::ChildFor(std::string traceparent, Caller caller) {
  return Link(Options{deadline_, request_id_, std::move(traceparent),
                      std::move(caller)});
}

CallContextPtr CallContext::Link(Options options) {
  CallContextPtr child(new CallContext(std::move(options)));
  child->parent_ = shared_from_this();
  std::weak_ptr<CallContext> weak = child;
  child->parent_hook_ = OnCancel([weak]() {
    if (CallContextPtr alive = weak.lock()) alive->Cancel();
  });
  return child;
}

void CallContext::Cancel() {
  std::vector<std::pair<HookId, absl::AnyInvocable<void() &&>>> hooks;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return;
    cancelled_.store(true, std::memory_order_release);
    hooks.swap(hooks_);
  }
  for (auto& [id, hook] : hooks) std::move(hook)();
}

CallContext::HookId CallContext::OnCancel(absl::AnyInvocable<void() &&> hook) {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      HookId id = next_hook_++;
      hooks_.emplace_back(id, std::move(hook));
      return id;
    }
  }
  std::move(hook)();
  return 0;
}

void CallContext::Forget(HookId id) {
  if (id == 0) return;
  absl::AnyInvocable<void() &&> dropped;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
    if (it->first == id) {
      dropped = std::move(it->second);
      hooks_.erase(it);
      return;
    }
  }
}

}  // namespace sluice::host
