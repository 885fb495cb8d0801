// The Router component's gRPC face on the internal listener.
#pragma once

#include "libs/host/internal_auth.h"
#include "libs/host/stream_cancels.h"
#include "services/router/router.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::router {

class RouterGrpc final : public sluice::v1::Router::CallbackService {
 public:
  // Both must outlive this.
  RouterGrpc(Router* router, const host::InternalAuth* auth)
      : router_(router), auth_(auth) {}

  grpc::ServerUnaryReactor* CountTokens(
      grpc::CallbackServerContext* context,
      const sluice::v1::TokenCountRequest* request,
      sluice::v1::TokenCountResponse* response) override;
  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* context,
                                  const sluice::v1::ChatRequest* request,
                                  sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamRoute(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* CancelStream(
      grpc::CallbackServerContext* context,
      const sluice::v1::StreamCancel* request,
      sluice::v1::StreamCancelled* response) override;

 private:
  Router* router_;
  const host::InternalAuth* auth_;
  // The open StreamRoute calls, for CancelStream.
  host::StreamCancels streams_;
};

}  // namespace sluice::router
