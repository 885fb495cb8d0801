#include "services/adapters/worker_provider.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/codec/chunk_assembler.h"
#include "libs/config/duration.h"

namespace sluice::adapters {
namespace {

using sluice::v1::ChatChunk;

// Stamps the route on the worker's chunks on their way to `out`.
class RouteStamp final : public ChunkSink {
 public:
  RouteStamp(std::string route, ChunkSink* out)
      : route_(std::move(route)), out_(out) {}

  void Start(host::FlowPtr flow) override { out_->Start(std::move(flow)); }
  bool Next(ChatChunk chunk) override {
    chunk.set_route(route_);
    return out_->Next(std::move(chunk));
  }
  void Done(absl::Status status) override {
    ChunkSink* out = out_;
    delete this;
    out->Done(std::move(status));
  }

 private:
  std::string route_;
  ChunkSink* out_;
};

// Collects a stream into the unary answer.
class AssemblingSink final : public ChunkSink {
 public:
  explicit AssemblingSink(CompleteCallback done) : done_(std::move(done)) {}

  bool Next(ChatChunk chunk) override {
    assembler_.Add(chunk);
    return true;
  }
  void Done(absl::Status status) override {
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

CancelCall WorkerProvider::Complete(const host::CallContextPtr& context,
                                    const sluice::v1::AdapterRequest& request,
                                    CompleteCallback done) {
  return Stream(context, request, new AssemblingSink(std::move(done)));
}

CancelCall WorkerProvider::Stream(const host::CallContextPtr& context,
                                  const sluice::v1::AdapterRequest& request,
                                  ChunkSink* sink) {
  if (worker_ == nullptr) {
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
  worker_->Generate(
      call, std::move(body),
      new RouteStamp(absl::StrCat(config_.name(), "/", request.upstream_model()),
                     sink));
  return [call]() { call->Cancel(); };
}

}  // namespace sluice::adapters
