// The Worker component's gRPC face on the internal listener.
#pragma once

#include "libs/host/internal_auth.h"
#include "services/worker/worker.h"
#include "sluice/v1/worker.grpc.pb.h"

namespace sluice::worker {

class WorkerGrpc final : public sluice::v1::Worker::CallbackService {
 public:
  // Both must outlive this.
  WorkerGrpc(Worker* worker, const host::InternalAuth* auth)
      : worker_(worker), auth_(auth) {}

  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* Generate(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(
      grpc::CallbackServerContext* context,
      const sluice::v1::TokenizeRequest* request,
      sluice::v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context,
                                 const sluice::v1::WorkerInfoRequest* request,
                                 sluice::v1::WorkerInfo* response) override;

 private:
  Worker* worker_;
  const host::InternalAuth* auth_;
};

}  // namespace sluice::worker
