// The public gRPC API (sluice.v1.Gateway): the same semantics as the HTTP
// API, the key in the `authorization` metadata.
#pragma once

#include <string>
#include <vector>

#include "libs/host/service_host.h"
#include "services/ingress/chat_admission.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/gateway.grpc.pb.h"
#include "sluice/v1/router.grpc.pb.h"

namespace sluice::ingress {

class GatewayService final : public sluice::v1::Gateway::CallbackService {
 public:
  // `admission` must outlive the service.
  GatewayService(ChatAdmission* admission, host::ChannelProvider* channels,
                 UsageReporter* usage, std::vector<std::string> models)
      : admission_(admission),
        router_(channels, "router"),
        usage_(usage),
        models_(std::move(models)) {}

  // sluice::v1::Gateway::CallbackService
  grpc::ServerUnaryReactor* Complete(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request,
      sluice::v1::ChatResponse* response) override;
  grpc::ServerWriteReactor<sluice::v1::ChatChunk>* StreamComplete(
      grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest* request) override;
  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const sluice::v1::ListModelsRequest* request,
      sluice::v1::ListModelsResponse* response) override;

 private:
  ChatAdmission* admission_;
  host::LazyStub<sluice::v1::Router> router_;
  UsageReporter* usage_;
  std::vector<std::string> models_;
};

}  // namespace sluice::ingress
