// The Worker component of another process, over gRPC.
#pragma once

#include <memory>

#include "libs/host/host.h"
#include "services/worker/worker.h"
#include "sluice/v1/worker.grpc.pb.h"

namespace sluice::worker {

class WorkerClient final : public Worker {
 public:
  WorkerClient(std::shared_ptr<grpc::Channel> channel,
               const host::InternalAuth* auth)
      : stub_(sluice::v1::Worker::NewStub(std::move(channel))), auth_(auth) {}

  // Worker
  void Generate(host::CallContextPtr context, sluice::v1::ChatRequest request,
                host::Sink<sluice::v1::ChatChunk>* sink) override;
  void Tokenize(host::CallContextPtr context,
                sluice::v1::TokenizeRequest request,
                host::Callback<sluice::v1::TokenizeResponse> done) override;
  void Info(host::CallContextPtr context,
            host::Callback<sluice::v1::WorkerInfo> done) override;

 private:
  std::unique_ptr<sluice::v1::Worker::Stub> stub_;
  const host::InternalAuth* auth_;
};

// How a process that does not host the worker reaches it.
host::ClientDefinition WorkerClientDefinition();

}  // namespace sluice::worker
