// Executes one unary routed call: the cache first (a hit answers, an
// identical request in flight is followed, a lease makes this call the one
// that fills it), then the attempts across the prepared candidates with
// retries and fallbacks (AttemptLoop), waiting on a gRPC alarm between
// them. Owns itself: it ends by finishing the caller's reactor.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "services/router/attempt_loop.h"
#include "services/router/cache_fill.h"
#include "services/router/router_core.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::router {

class UnaryExecution : public std::enable_shared_from_this<UnaryExecution> {
 public:
  static void Start(RouterCore* core, grpc::CallbackServerContext* context,
                    grpc::ServerUnaryReactor* reactor,
                    const sluice::v1::ChatRequest& request,
                    sluice::v1::ChatResponse* response);

  UnaryExecution(RouterCore* core, grpc::CallbackServerContext* context,
                 grpc::ServerUnaryReactor* reactor,
                 sluice::v1::ChatResponse* response);

 private:
  void LookUp(const std::string& resolved_model);
  // Prepares the route and starts the attempts.
  void GoUpstream();
  // Asks the loop what to do next and does it.
  void Step();
  void Attempt(const Candidate& candidate);
  void OnAttemptDone(const grpc::Status& status);
  void Finish(const absl::Status& status);
  // Answers from the cache (a hit or the followed flight's answer).
  void FinishFromCache(sluice::v1::ChatResponse response, const char* cache);

  RouterCore* core_;
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;
  sluice::v1::ChatResponse* response_;
  PreparedRoute route_;
  std::optional<AttemptLoop> loop_;
  std::string cache_status_;
  CacheFill* fill_ = nullptr;  // when this call leads a cache flight
  sluice::v1::AdapterRequest call_;
  std::unique_ptr<grpc::ClientContext> attempt_context_;
  sluice::v1::ChatResponse attempt_response_;
  absl::Time attempt_start_;
  std::unique_ptr<grpc::Alarm> alarm_;
  std::shared_ptr<UnaryExecution> waiting_;  // set while the alarm is armed
};

}  // namespace sluice::router
