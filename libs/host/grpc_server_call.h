// The server side of a component's gRPC face: each RPC method is a few
// lines that check the internal secret, rebuild the CallContext and call
// the component; its answer finishes the RPC.
//
// ServeUnary answers one response. ServeStream answers a Sink whose window
// is the number of messages queued for the client: beyond it Next() returns
// false, and the producer is resumed once the client has read half of them.
// The client going away cancels the call's context; so does a client's ask
// to wind the stream down (stream_cancels.h), which leaves the RPC open for
// what the producer sends before its Done.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/call_context.h"
#include "libs/host/grpc_context.h"
#include "libs/host/internal_auth.h"
#include "libs/host/reaction_order.h"
#include "libs/host/sink.h"
#include "libs/host/stream_cancels.h"
#include "libs/status/grpc_status.h"

namespace sluice::host {

grpc::Status UnauthenticatedInternalCall();

// A unary call's reactor: cancels the context when the client goes.
class UnaryServerCall final : public grpc::ServerUnaryReactor {
 public:
  explicit UnaryServerCall(CallContextPtr context)
      : context_(std::move(context)) {}
  const CallContextPtr& context() const { return context_; }

 private:
  void OnCancel() override {
    context_->Cancel();
    CancelReturned(this);
  }
  void OnDone() override {
    DoneBegins(this);
    delete this;
  }

  CallContextPtr context_;
};

// `call(context, done)` starts the component's work; `done` may run inline.
// `auth` null: a public method (no internal secret asked).
template <typename Response, typename Call>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* server,
                                     const InternalAuth* auth,
                                     Response* response, Call&& call) {
  auto* reactor = new UnaryServerCall(FromServerContext(*server));
  if (auth != nullptr && !auth->Admit(*server)) {
    reactor->Finish(UnauthenticatedInternalCall());
    return reactor;
  }
  std::forward<Call>(call)(
      reactor->context(),
      Callback<Response>(
          [reactor, response](absl::StatusOr<Response> result) {
            if (result.ok()) *response = *std::move(result);
            reactor->Finish(status::ToGrpcStatus(result.status()));
          }));
  return reactor;
}

// A server stream fed through the Sink interface (see the file comment).
template <typename T>
class ServerStreamCall final : public grpc::ServerWriteReactor<T>,
                               public Sink<T> {
 public:
  // Messages queued for the client before Next() says pause.
  static constexpr size_t kWindow = 16;

  ServerStreamCall(CallContextPtr context, const InternalAuth* auth,
                   const grpc::CallbackServerContext& server)
      : context_(std::move(context)) {
    if (auth != nullptr && !auth->Admit(server)) {
      refused_ = true;
      done_ = finished_ = true;
      holds_ = 1;
      this->Finish(UnauthenticatedInternalCall());
    }
  }

  bool refused() const { return refused_; }
  const CallContextPtr& context() const { return context_; }

  // Lets the client wind the stream down by the call id it sent, until the
  // RPC is done. Before the producer starts.
  void Register(StreamCancels* cancels,
                const grpc::CallbackServerContext& server) {
    call_id_ = std::string(ClientMetadata(server, kCallIdKey));
    if (call_id_.empty()) return;
    cancels_ = cancels;
    cancels_->Add(call_id_, context_);
  }

  // Sink
  void Start(FlowPtr flow) override {
    absl::MutexLock lock(&mu_);
    flow_ = std::move(flow);
  }

  bool Next(T item) override {
    const T* write = nullptr;
    bool open;
    {
      absl::MutexLock lock(&mu_);
      if (done_ || gone_) return true;  // dropped; the cancel stops them
      pending_.push_back(std::move(item));
      if (!writing_) {
        writing_ = true;
        write = &pending_.front();  // a deque keeps references on push_back
      }
      open = pending_.size() < kWindow;
      if (!open) paused_ = true;
    }
    if (write != nullptr) this->StartWrite(write);
    return open;
  }

  void Done(absl::Status status) override {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      status_ = status::ToGrpcStatus(status);
      if (!writing_ && !finished_) finished_ = finish = true;
    }
    if (finish) this->Finish(status_);
    Release();
  }

 private:
  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override {
    const T* next = nullptr;
    bool finish = false;
    FlowPtr resume;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      pending_.pop_front();
      if (!ok) {
        gone_ = true;
        pending_.clear();
      }
      if (!pending_.empty()) {
        writing_ = true;
        next = &pending_.front();
      } else if (done_ && !finished_) {
        finished_ = finish = true;
      }
      if (paused_ && pending_.size() <= kWindow / 2) {
        paused_ = false;
        resume = flow_;
      }
    }
    if (!ok) context_->Cancel();
    if (resume != nullptr) resume->Resume();
    if (next != nullptr) {
      this->StartWrite(next);
    } else if (finish) {
      this->Finish(status_);
    }
  }

  void OnCancel() override {
    context_->Cancel();
    CancelReturned(this);
  }
  void OnDone() override {
    DoneBegins(this);
    if (cancels_ != nullptr) cancels_->Remove(call_id_);
    Release();
  }

  void Release() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --holds_ == 0;
    }
    if (last) delete this;
  }

  CallContextPtr context_;
  bool refused_ = false;
  StreamCancels* cancels_ = nullptr;
  std::string call_id_;
  absl::Mutex mu_;
  // The RPC's own (OnDone) and the producer's (Done).
  int holds_ ABSL_GUARDED_BY(mu_) = 2;
  FlowPtr flow_ ABSL_GUARDED_BY(mu_);
  std::deque<T> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

// `call(context, sink)` starts the component's stream into `sink`.
// `cancels` (may be null): where the component's Cancel RPC finds the
// streams whose clients may ask them to wind down.
template <typename T, typename Call>
grpc::ServerWriteReactor<T>* ServeStream(grpc::CallbackServerContext* server,
                                         const InternalAuth* auth, Call&& call,
                                         StreamCancels* cancels = nullptr) {
  auto* stream = new ServerStreamCall<T>(FromServerContext(*server), auth, *server);
  if (!stream->refused()) {
    if (cancels != nullptr) stream->Register(cancels, *server);
    std::forward<Call>(call)(stream->context(), static_cast<Sink<T>*>(stream));
  }
  return stream;
}

}  // namespace sluice::host
