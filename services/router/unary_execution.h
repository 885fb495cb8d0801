// Executes one unary routed call: attempts across the prepared candidates
// with retries and fallbacks (AttemptLoop), waits on a gRPC alarm, answers
// the caller once. Owns itself: it ends by finishing the caller's reactor.
#pragma once

#include <memory>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "absl/synchronization/mutex.h"
#include "services/router/attempt_loop.h"
#include "services/router/router_core.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::router {

class UnaryExecution : public std::enable_shared_from_this<UnaryExecution> {
 public:
  static void Start(RouterCore* core, grpc::CallbackServerContext* context,
                    grpc::ServerUnaryReactor* reactor,
                    const sluice::v1::ChatRequest& request,
                    sluice::v1::ChatResponse* response, PreparedRoute route);

  UnaryExecution(RouterCore* core, grpc::CallbackServerContext* context,
                 grpc::ServerUnaryReactor* reactor,
                 sluice::v1::ChatResponse* response, PreparedRoute route);

 private:
  // Asks the loop what to do next and does it.
  void Step();
  void Attempt(const Candidate& candidate);
  void OnAttemptDone(const grpc::Status& status);
  void Finish(const absl::Status& status);

  RouterCore* core_;
  grpc::CallbackServerContext* context_;
  grpc::ServerUnaryReactor* reactor_;
  sluice::v1::ChatResponse* response_;
  PreparedRoute route_;
  AttemptLoop loop_;
  sluice::v1::AdapterRequest call_;
  std::unique_ptr<grpc::ClientContext> attempt_context_;
  sluice::v1::ChatResponse attempt_response_;
  absl::Time attempt_start_;
  std::unique_ptr<grpc::Alarm> alarm_;
  std::shared_ptr<UnaryExecution> waiting_;  // set while the alarm is armed
};

}  // namespace sluice::router
