#include "services/adapters/worker_provider.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/codec/chunk_assembler.h"
#include "libs/config/duration.h"
#include "services/worker/worker_client.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatChunk;

// Stamps the route on the worker's chunks on their way to `out`, and the
// pool's choice on the first one (the router adds it to the route reason).
class RouteStamp final : public ChunkSink {
 public:
  RouteStamp(std::string route, std::string reason, ChunkSink* out,
             absl::AnyInvocable<void()> on_done)
      : route_(std::move(route)),
        reason_(std::move(reason)),
        out_(out),
        on_done_(std::move(on_done)) {}

  void Start(host::FlowPtr flow) override { out_->Start(std::move(flow)); }
  bool Next(ChatChunk chunk) override {
    chunk.set_route(route_);
    if (!reason_.empty()) {
      chunk.mutable_decision()->set_reason(std::move(reason_));
      reason_.clear();
    }
    return out_->Next(std::move(chunk));
  }
  void Done(absl::Status status) override {
    ChunkSink* out = out_;
    if (on_done_) on_done_();
    delete this;
    out->Done(std::move(status));
  }

 private:
  std::string route_;
  std::string reason_;
  ChunkSink* out_;
  absl::AnyInvocable<void()> on_done_;
};

// Collects a stream into the unary answer.
class AssemblingSink final : public ChunkSink {
 public:
  explicit AssemblingSink(CompleteCallback done) : done_(std::move(done)) {}

  bool Next(ChatChunk chunk) override {
    if (reason_.empty()) reason_ = chunk.decision().reason();
    assembler_.Add(chunk);
    return true;
  }
  void Done(absl::Status status) override {
    if (status.ok()) {
      sluice::v1::ChatResponse response = assembler_.Response();
      if (!reason_.empty()) response.mutable_decision()->set_reason(reason_);
      done_(std::move(response));
    } else {
      done_(status);
    }
    delete this;
  }

 private:
  CompleteCallback done_;
  codec::ChunkAssembler assembler_;
  std::string reason_;
};

}  // namespace

WorkerProvider::WorkerProvider(const sluice::v1::ProviderConfig& config,
                               worker::Worker* worker,
                               const host::InternalAuth* auth)
    : config_(config), worker_(worker) {
  if (config_.workers().empty()) return;
  std::vector<WorkerPool::Member> members;
  for (const std::string& address : config_.workers()) {
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        auth != nullptr ? auth->ChannelCredentials()
                        : grpc::InsecureChannelCredentials();
    members.push_back(
        {address, std::make_shared<worker::WorkerClient>(
                      grpc::CreateChannel(address, credentials), auth)});
  }
  pool_ = std::make_unique<WorkerPool>(
      std::move(members),
      config_.worker_routing() != sluice::v1::WORKER_ROUTING_ROUND_ROBIN);
}

CancelCall WorkerProvider::Complete(const host::CallContextPtr& context,
                                    const sluice::v1::AdapterRequest& request,
                                    CompleteCallback done) {
  return Stream(context, request, new AssemblingSink(std::move(done)));
}

CancelCall WorkerProvider::Stream(const host::CallContextPtr& context,
                                  const sluice::v1::AdapterRequest& request,
                                  ChunkSink* sink) {
  worker::Worker* target = worker_;
  std::string reason;
  absl::AnyInvocable<void()> on_done;
  if (pool_ != nullptr) {
    WorkerPool::Choice choice = pool_->Pick(request.request());
    target = choice.worker;
    reason = std::move(choice.reason);
    on_done = [pool = pool_.get(), index = choice.index] { pool->Release(index); };
  }
  if (target == nullptr) {
    sink->Done(absl::UnavailableError(absl::StrCat(
        "provider ", config_.name(), ": the worker service is not reachable")));
    return nullptr;
  }
  host::CallContextPtr call = context->Child(
      absl::Now() +
      sluice::config::DurationOr(config_.timeouts().total(), absl::Minutes(10)));
  sluice::v1::ChatRequest body = request.request();
  body.set_model(request.upstream_model());
  body.set_stream(true);
  target->Generate(
      call, std::move(body),
      new RouteStamp(absl::StrCat(config_.name(), "/", request.upstream_model()),
                     std::move(reason), sink, std::move(on_done)));
  return [call]() { call->Cancel(); };
}

}  // namespace sluice::adapters
