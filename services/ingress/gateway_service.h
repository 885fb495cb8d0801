// The public gRPC API (sluice.v1.Gateway): the same edge pipeline as HTTP
// (chat_edge.h), the key in the `authorization` metadata, the client's
// deadline honoured end to end.
#pragma once

#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "services/ingress/chat_edge.h"
#include "services/ingress/job_store.h"
#include "services/ingress/usage_reporter.h"
#include "sluice/v1/gateway.grpc.pb.h"

namespace sluice::ingress {

class GatewayService final : public sluice::v1::Gateway::CallbackService {
 public:
  // `edge`, `usage` and `jobs` (null: async jobs are off) must outlive the
  // service.
  GatewayService(ChatEdge* edge, UsageReporter* usage,
                 std::vector<std::string> models, JobStore* jobs = nullptr)
      : edge_(edge), usage_(usage), models_(std::move(models)), jobs_(jobs) {}

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
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const sluice::v1::JobResultRequest* request,
                                   sluice::v1::JobResult* response) override;

 private:
  // Calls `then` with the caller the call's authorization metadata names:
  // now, or from a key lookup thread when the database must be asked.
  void Authenticate(
      const grpc::CallbackServerContext& context,
      absl::AnyInvocable<void(absl::StatusOr<Caller>) &&> then) const;

  ChatEdge* edge_;
  UsageReporter* usage_;
  std::vector<std::string> models_;
  JobStore* jobs_;
};

}  // namespace sluice::ingress
