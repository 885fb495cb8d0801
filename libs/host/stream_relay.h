// Relays a server stream from an upstream service to our own caller: the
// object answers our caller (QueuedStreamWriter) and reads the upstream call
// (ClientReadReactor). Cancellation flows upstream, the upstream's final
// status flows downstream. Deletes itself when both calls are done.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "libs/host/queued_stream_writer.h"

namespace sluice::host {

template <typename Chunk>
class StreamRelay : public QueuedStreamWriter<Chunk>,
                    public grpc::ClientReadReactor<Chunk> {
 public:
  // Changes each chunk before it goes downstream (may be empty).
  using Transform = std::function<void(Chunk&)>;
  // Sees the upstream's final status before it goes downstream (may be empty).
  using OnFinish = std::function<void(const grpc::Status&)>;

  // `start` begins the upstream call with this object as its reactor, e.g.
  // [&](auto* ctx, auto* reactor) { stub->async()->StreamRoute(ctx, &req,
  // reactor); }. `start` must keep the request alive until the call is done
  // (or pass ownership with `keep_alive`).
  template <typename StartFn>
  StreamRelay(std::unique_ptr<grpc::ClientContext> client_context,
              StartFn start, Transform transform = nullptr,
              OnFinish on_finish = nullptr,
              std::shared_ptr<void> keep_alive = nullptr)
      : StreamRelay(std::move(client_context), std::move(transform),
                    std::move(on_finish), std::move(keep_alive)) {
    Start(std::move(start));
  }

  // A relay whose upstream call begins later, once something asynchronous
  // (an admission check) has decided: exactly one of Start() or Fail() must
  // follow, from any thread.
  StreamRelay(std::unique_ptr<grpc::ClientContext> client_context,
              Transform transform, OnFinish on_finish,
              std::shared_ptr<void> keep_alive)
      : QueuedStreamWriter<Chunk>(/*extra_holds=*/1),
        client_context_(std::move(client_context)),
        transform_(std::move(transform)),
        on_finish_(std::move(on_finish)),
        keep_alive_(std::move(keep_alive)) {}

  template <typename StartFn>
  void Start(StartFn start) {
    start(client_context_.get(),
          static_cast<grpc::ClientReadReactor<Chunk>*>(this));
    grpc::ClientReadReactor<Chunk>::StartRead(&incoming_);
    grpc::ClientReadReactor<Chunk>::StartCall();
  }

  // Ends the caller's stream with `status` without an upstream call.
  void Fail(const grpc::Status& status) {
    this->End(status);
    this->Release();
  }

 private:
  // grpc::ClientReadReactor
  void OnReadDone(bool ok) override {
    if (!ok) return;  // upstream ended; OnDone(status) follows
    if (transform_) transform_(incoming_);
    this->Push(std::move(incoming_));
    incoming_.Clear();
    grpc::ClientReadReactor<Chunk>::StartRead(&incoming_);
  }

  void OnDone(const grpc::Status& status) override {
    if (on_finish_) on_finish_(status);
    this->End(status);
    this->Release();
  }

  // QueuedStreamWriter
  void OnDownstreamGone() override { client_context_->TryCancel(); }

  std::unique_ptr<grpc::ClientContext> client_context_;
  Transform transform_;
  OnFinish on_finish_;
  std::shared_ptr<void> keep_alive_;
  Chunk incoming_;
};

}  // namespace sluice::host
