#include "services/worker/worker_service.h"

#include <memory>

#include "libs/obs/metrics.h"
#include "services/worker/worker.h"
#include "services/worker/worker_grpc.h"
#include "spdlog/spdlog.h"
#ifdef SLUICE_HAVE_LLAMA
#include "services/worker/llama_worker.h"
#endif

namespace sluice::worker {
namespace {

absl::Status NoEngine() {
  return absl::UnimplementedError(
      "the worker has no model (set worker.model_path)");
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
  void Info(host::CallContextPtr,
            host::Callback<sluice::v1::WorkerInfo> done) override {
    std::move(done)(NoEngine());
  }
};

class HostedWorker final : public host::HostedService {
 public:
  HostedWorker(std::unique_ptr<Worker> worker, const host::InternalAuth* auth)
      : worker_(std::move(worker)), grpc_(worker_.get(), auth) {}
  grpc::Service* internal_grpc() override { return &grpc_; }
  Worker* worker() { return worker_.get(); }

 private:
  std::unique_ptr<Worker> worker_;
  WorkerGrpc grpc_;
};

absl::StatusOr<std::unique_ptr<Worker>> MakeWorker(
    const sluice::v1::WorkerConfig& config) {
  if (config.model_path().empty()) return std::make_unique<EmptyWorker>();
#ifdef SLUICE_HAVE_LLAMA
  absl::StatusOr<std::unique_ptr<LlamaWorker>> worker =
      LlamaWorker::Create(config, obs::MetricsRegistry::Default());
  if (!worker.ok()) return worker.status();
  spdlog::info("worker: serving {} as '{}'", config.model_path(),
               config.model_name().empty() ? "local" : config.model_name());
  return std::unique_ptr<Worker>(*std::move(worker));
#else
  return absl::FailedPreconditionError(
      "worker.model_path is set but this build has no llama.cpp");
#endif
}

}  // namespace

host::ServiceDefinition WorkerServiceDefinition() {
  return {kServiceName, /*uses_kafka=*/false,
          [](host::HostEnvironment& env)
              -> absl::StatusOr<std::unique_ptr<host::HostedService>> {
            absl::StatusOr<std::unique_ptr<Worker>> worker =
                MakeWorker(env.config.worker());
            if (!worker.ok()) return worker.status();
            auto hosted =
                std::make_unique<HostedWorker>(*std::move(worker), env.auth);
            env.components.Provide<Worker>(kServiceName, hosted->worker());
            return hosted;
          }};
}

}  // namespace sluice::worker
