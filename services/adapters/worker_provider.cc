#include "services/adapters/worker_provider.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/codec/chunk_assembler.h"
#include "libs/config/duration.h"
#include "libs/status/grpc_status.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatChunk;

// Reads one Generate stream into a sink; deletes itself when done.
class WorkerCall final : public grpc::ClientReadReactor<ChatChunk> {
 public:
  WorkerCall(ChunkSink* sink, std::string route,
             std::shared_ptr<grpc::ClientContext> context,
             sluice::v1::ChatRequest request)
      : sink_(sink),
        route_(std::move(route)),
        context_(std::move(context)),
        request_(std::move(request)) {}

  void Start(sluice::v1::Worker::Stub* stub) {
    stub->async()->Generate(context_.get(), &request_, this);
    StartRead(&chunk_);
    StartCall();
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) return;
    chunk_.set_route(route_);
    sink_->OnChunk(std::move(chunk_));
    chunk_.Clear();
    StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    sink_->OnEnd(status::FromGrpcStatus(status));
    delete this;
  }

  ChunkSink* sink_;
  std::string route_;
  std::shared_ptr<grpc::ClientContext> context_;
  sluice::v1::ChatRequest request_;
  ChatChunk chunk_;
};

// Collects a stream into the unary answer.
class AssemblingSink final : public ChunkSink {
 public:
  explicit AssemblingSink(CompleteCallback done) : done_(std::move(done)) {}

  void OnChunk(ChatChunk chunk) override { assembler_.Add(chunk); }
  void OnEnd(const absl::Status& status) override {
    if (status.ok()) {
      done_(assembler_.Response());
    } else {
      done_(status);
    }
    delete this;
  }

 private:
  CompleteCallback done_;
  codec::ChunkAssembler assembler_;
};

}  // namespace

WorkerProvider::WorkerProvider(const sluice::v1::ProviderConfig& config,
                               host::ChannelProvider* channels)
    : config_(config), worker_(channels, "worker") {}

void WorkerProvider::Complete(const sluice::v1::AdapterRequest& request,
                              CompleteCallback done) {
  Stream(request, new AssemblingSink(std::move(done)));
}

CancelStream WorkerProvider::Stream(const sluice::v1::AdapterRequest& request,
                                    ChunkSink* sink) {
  sluice::v1::Worker::Stub* stub = worker_.get();
  if (stub == nullptr) {
    sink->OnEnd(absl::UnavailableError(
        absl::StrCat("provider ", config_.name(),
                     ": the worker service is not reachable")));
    return nullptr;
  }
  auto context = std::make_shared<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(
      absl::Now() + sluice::config::DurationOr(config_.timeouts().total(),
                                               absl::Minutes(10))));
  sluice::v1::ChatRequest body = request.request();
  body.set_model(request.upstream_model());
  body.set_stream(true);
  (new WorkerCall(sink, absl::StrCat(config_.name(), "/", request.upstream_model()),
                  context, std::move(body)))
      ->Start(stub);
  return [context] { context->TryCancel(); };
}

}  // namespace sluice::adapters
