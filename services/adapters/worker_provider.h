// Our own inference worker (llama.cpp) as a provider: the request goes to
// the Worker gRPC service (co-hosted or remote, like any sluice service)
// and its chunks come back as they are; a unary call is the stream
// assembled.
#pragma once

#include <string>

#include "libs/host/service_host.h"
#include "services/adapters/provider.h"
#include "sluice/v1/config.pb.h"
#include "sluice/v1/worker.grpc.pb.h"

namespace sluice::adapters {

class WorkerProvider : public Provider {
 public:
  // `channels` must outlive the provider.
  WorkerProvider(const sluice::v1::ProviderConfig& config,
                 host::ChannelProvider* channels);

  // Provider
  void Complete(const sluice::v1::AdapterRequest& request,
                CompleteCallback done) override;
  CancelStream Stream(const sluice::v1::AdapterRequest& request,
                      ChunkSink* sink) override;

 private:
  sluice::v1::ProviderConfig config_;
  host::LazyStub<sluice::v1::Worker> worker_;
};

}  // namespace sluice::adapters
