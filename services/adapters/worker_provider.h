// Our own inference worker (llama.cpp) as a provider: the request goes to
// the Worker component (co-hosted or remote, like any sluice service) and
// its chunks come back as they are; a unary call is the stream assembled.
#pragma once

#include "services/adapters/provider.h"
#include "services/worker/worker.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class WorkerProvider : public Provider {
 public:
  // `worker` (null: not reachable) must outlive the provider.
  WorkerProvider(const sluice::v1::ProviderConfig& config,
                 worker::Worker* worker)
      : config_(config), worker_(worker) {}

  // Provider
  CancelCall Complete(const host::CallContextPtr& context,
                      const sluice::v1::AdapterRequest& request,
                      CompleteCallback done) override;
  CancelCall Stream(const host::CallContextPtr& context,
                    const sluice::v1::AdapterRequest& request,
                    ChunkSink* sink) override;

 private:
  sluice::v1::ProviderConfig config_;
  worker::Worker* worker_;
};

}  // namespace sluice::adapters
