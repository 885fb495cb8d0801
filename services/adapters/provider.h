// One upstream provider family (OpenAI-compatible, Anthropic, our worker):
// turns an AdapterRequest into a call upstream and the answer back into our
// protos. Calls never block; results arrive on the provider's own thread.
#pragma once

#include <functional>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"
#include "libs/host/sink.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::adapters {

using ChunkSink = host::Sink<sluice::v1::ChatChunk>;
using CompleteCallback =
    std::function<void(absl::StatusOr<sluice::v1::ChatResponse>)>;
// Stops a call early; its callback or sink still gets the end (CANCELLED).
// Safe to call from any thread, also after the call ended. May be empty.
using CancelCall = absl::AnyInvocable<void() &&>;

class Provider {
 public:
  virtual ~Provider() = default;
  // `context` gives the deadline (upstream timeouts never run past it) and
  // the trace; the caller wires its cancellation to the returned function.
  virtual CancelCall Complete(const host::CallContextPtr& context,
                              const sluice::v1::AdapterRequest& request,
                              CompleteCallback done) = 0;
  // `sink` must stay alive until its Done(). Upstream reads pause while the
  // sink's window is full.
  virtual CancelCall Stream(const host::CallContextPtr& context,
                            const sluice::v1::AdapterRequest& request,
                            ChunkSink* sink) = 0;
};

using ProviderPtr = std::unique_ptr<Provider>;

}  // namespace sluice::adapters
