// The Adapters component's gRPC face on the internal listener.
#pragma once

#include "libs/host/internal_auth.h"
#include "services/adapters/adapters.h"
#include "sluice/v1/adapter.grpc.pb.h"

namespace sluice::adapters {

class AdaptersGrpc final : public sluice::v1::Adapter::CallbackService {
 public:
  // Both must outlive this.
  AdaptersGrpc(Adapters* adapters, const host::InternalAuth* auth)
      : adapters_(adapters), auth_(auth) {}

  grpc::ServerUnaryReactor* Complete(
      grpc::CallbackServerContext* context,
      const sluice::v1::AdapterRequest* request,
      sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamComplete(
      grpc::CallbackServerContext* context,
      const sluice::v1::AdapterRequest* request) override;

 private:
  Adapters* adapters_;
  const host::InternalAuth* auth_;
};

}  // namespace sluice::adapters
