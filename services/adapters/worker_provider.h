// Our own inference worker (llama.cpp) as a provider: the request goes to
// the Worker component (co-hosted or remote, like any sluice service), or,
// with `workers` configured, to the worker process of a pool that the
// request's prompt prefix and the workers' load choose; its chunks come
// back as they are; a unary call is the stream assembled.
#pragma once

#include <memory>

#include "libs/host/internal_auth.h"
#include "services/adapters/provider.h"
#include "services/adapters/worker_pool.h"
#include "services/worker/worker.h"
#include "sluice/v1/config.pb.h"

namespace sluice::adapters {

class WorkerProvider : public Provider {
 public:
  // `worker` (null: not reachable) must outlive the provider; `auth` signs
  // the calls to the pool's workers.
  WorkerProvider(const sluice::v1::ProviderConfig& config,
                 worker::Worker* worker, const host::InternalAuth* auth);

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
  std::unique_ptr<WorkerPool> pool_;  // with `workers` configured
};

}  // namespace sluice::adapters
