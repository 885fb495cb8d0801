// The Adapters component of another process, over gRPC.
#pragma once

#include <memory>

#include "libs/host/host.h"
#include "services/adapters/adapters.h"
#include "sluice/v1/adapter.grpc.pb.h"

namespace sluice::adapters {

class AdaptersClient final : public Adapters {
 public:
  AdaptersClient(std::shared_ptr<grpc::Channel> channel,
                 const host::InternalAuth* auth)
      : stub_(sluice::v1::Adapter::NewStub(std::move(channel))), auth_(auth) {}

  // Adapters
  void Complete(host::CallContextPtr context, sluice::v1::AdapterRequest request,
                host::Callback<sluice::v1::ChatResponse> done) override;
  void StreamComplete(host::CallContextPtr context,
                      sluice::v1::AdapterRequest request,
                      host::Sink<sluice::v1::ChatChunk>* sink) override;

 private:
  std::unique_ptr<sluice::v1::Adapter::Stub> stub_;
  const host::InternalAuth* auth_;
};

// How a process that does not host the adapters reaches them.
host::ClientDefinition AdaptersClientDefinition();

}  // namespace sluice::adapters
