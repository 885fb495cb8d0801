#include "services/worker/worker_service.h"

#include <memory>

#include "services/worker/worker.h"
#include "services/worker/worker_grpc.h"

namespace sluice::worker {
namespace {

absl::Status NoEngine() {
  return absl::UnimplementedError(
      "the worker has no inference engine in this build");
}

class EmptyWorker final : public Worker {
 public:
  void Generate(host::CallContextPtr, sluice::v1::ChatRequest,
                host::Sink<sluice::v1::ChatChunk>* sink) override {
    sink->Done(NoEngine());
  }
  void Tokenize(host::CallContextPtr, sluice::v1::TokenizeRequest,
                host::Callback<sluice::v1::TokenizeResponse> done) override {
    std::move(done)(NoEngine());
  }
};

class HostedWorker final : public host::HostedService {
 public:
  explicit HostedWorker(const host::InternalAuth* auth) : grpc_(&worker_, auth) {}
  grpc::Service* internal_grpc() override { return &grpc_; }
  Worker* worker() { return &worker_; }

 private:
  EmptyWorker worker_;
  WorkerGrpc grpc_;
};

}  // namespace

host::ServiceDefinition WorkerServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            auto hosted = std::make_unique<HostedWorker>(env.auth);
            env.components.Provide<Worker>(kServiceName, hosted->worker());
            return hosted;
          }};
}

}  // namespace sluice::worker
