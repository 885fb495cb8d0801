#include "services/cache/cache_grpc.h"

#include <memory>

#include "libs/host/grpc_server_call.h"
#include "libs/host/reaction_order.h"

namespace sluice::cache {
namespace {

// One Fill call: the leader's messages into the component's CacheFill.
class FillReader final : public grpc::ServerReadReactor<sluice::v1::CacheFill> {
 public:
  FillReader(Cache* cache, host::CallContextPtr context)
      : cache_(cache), context_(std::move(context)) {}

  void Begin() { StartRead(&message_); }
  void Refuse() { Finish(host::UnauthenticatedInternalCall()); }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {
      // The stream ended: a fill not ended is abandoned. The RPC answers
      // once the cache has taken the answer.
      if (fill_ == nullptr) return Finish(grpc::Status::OK);
      std::exchange(fill_, nullptr)->Close([this] { Finish(grpc::Status::OK); });
      return;
    }
    if (fill_ == nullptr) fill_ = cache_->StartFill(context_, message_.key());
    if (message_.has_chunk()) fill_->Chunk(message_.chunk());
    if (message_.has_response()) fill_->Answer(message_.response());
    if (message_.abandon()) fill_->Abandon();
    message_.Clear();
    StartRead(&message_);
  }

  void OnCancel() override {
    context_->Cancel();
    host::CancelReturned(this);
  }
  void OnDone() override {
    host::DoneBegins(this);
    if (fill_ != nullptr) fill_->Close(nullptr);
    delete this;
  }

  Cache* cache_;
  host::CallContextPtr context_;
  CacheFill* fill_ = nullptr;
  sluice::v1::CacheFill message_;
};

}  // namespace

grpc::ServerWriteReactor<sluice::v1::CacheEvent>* CacheGrpc::Lookup(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheLookupRequest* request) {
  return host::ServeStream<sluice::v1::CacheEvent>(
      context, auth_, [&](host::CallContextPtr ctx, auto* sink) {
        cache_->Lookup(std::move(ctx), *request, sink);
      });
}

grpc::ServerReadReactor<sluice::v1::CacheFill>* CacheGrpc::Fill(
    grpc::CallbackServerContext* context,
    sluice::v1::CacheFillResponse* response) {
  auto* reader = new FillReader(cache_, host::FromServerContext(*context));
  if (auth_->Admit(*context)) {
    reader->Begin();
  } else {
    reader->Refuse();
  }
  return reader;
}

grpc::ServerUnaryReactor* CacheGrpc::Invalidate(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheInvalidateRequest* request,
    sluice::v1::CacheInvalidateResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            cache_->Invalidate(std::move(ctx), *request,
                                               std::move(done));
                          });
}

grpc::ServerUnaryReactor* CacheGrpc::Stats(
    grpc::CallbackServerContext* context,
    const sluice::v1::CacheStatsRequest* request,
    sluice::v1::CacheStatsResponse* response) {
  return host::ServeUnary(context, auth_, response,
                          [&](host::CallContextPtr ctx, auto done) {
                            cache_->Stats(std::move(ctx), *request,
                                          std::move(done));
                          });
}

}  // namespace sluice::cache
