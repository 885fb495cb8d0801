// One upstream provider family (OpenAI-compatible, Anthropic, our worker):
// turns an AdapterRequest into a call upstream and the answer back into our
// protos. Calls never block; results arrive on the provider's own thread.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::adapters {

// Receives a streamed answer: chunks in order, then exactly one OnEnd().
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual void OnChunk(sluice::v1::ChatChunk chunk) = 0;
  virtual void OnEnd(const absl::Status& status) = 0;
};

using CompleteCallback =
    std::function<void(absl::StatusOr<sluice::v1::ChatResponse>)>;
// Stops a stream early; the sink still gets its OnEnd().
using CancelStream = std::function<void()>;

class Provider {
 public:
  virtual ~Provider() = default;
  virtual void Complete(const sluice::v1::AdapterRequest& request,
                        CompleteCallback done) = 0;
  // `sink` must stay alive until its OnEnd().
  virtual CancelStream Stream(const sluice::v1::AdapterRequest& request,
                              ChunkSink* sink) = 0;
};

using ProviderPtr = std::unique_ptr<Provider>;

}  // namespace sluice::adapters
