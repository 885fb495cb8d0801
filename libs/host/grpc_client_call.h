// The client side of a remote component: each interface method makes one
// RPC with a client context built from the CallContext (deadline, request
// id, trace, caller, internal secret); cancelling the context cancels the
// RPC. A server stream is read into a Sink one message at a time, and a
// full window stops reading (gRPC's own flow control then holds the
// server back) until the sink resumes it. A stream run with a WindDown
// (stream_cancels.h) is not cut when its context is cancelled: the server
// is asked to end it, and what it sends until then still reaches the sink.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/host/call_context.h"
#include "libs/host/grpc_context.h"
#include "libs/host/internal_auth.h"
#include "libs/host/sink.h"
#include "libs/host/stream_cancels.h"
#include "libs/host/timer.h"
#include "libs/status/grpc_status.h"

namespace sluice::host {

// `start(client_context, request, response, on_done)` issues the RPC, e.g.
// [stub](auto* c, auto* q, auto* r, auto f) { stub->async()->Route(c, q, r,
// std::move(f)); }.
template <typename Response, typename Request, typename Start>
void CallUnary(Start&& start, const CallContextPtr& context,
               const InternalAuth* auth, Request request,
               Callback<Response> done) {
  if (context->cancelled()) {
    std::move(done)(absl::CancelledError("the call was cancelled"));
    return;
  }
  struct Call {
    std::shared_ptr<grpc::ClientContext> client;
    CallContextPtr context;
    CallContext::HookId hook = 0;
    Request request;
    Response response;
    Callback<Response> done;
  };
  auto call = std::make_shared<Call>();
  call->client = ToClientContext(*context, auth);
  call->context = context;
  call->request = std::move(request);
  call->done = std::move(done);
  std::weak_ptr<grpc::ClientContext> client = call->client;
  call->hook = context->OnCancel([client] {
    if (auto alive = client.lock()) alive->TryCancel();
  });
  std::forward<Start>(start)(
      call->client.get(), &call->request, &call->response,
      std::function<void(grpc::Status)>([call](grpc::Status status) {
        call->context->Forget(call->hook);
        if (status.ok()) {
          std::move(call->done)(std::move(call->response));
        } else {
          std::move(call->done)(status::FromGrpcStatus(status));
        }
      }));
}

// Reads one server stream into a sink (see the file comment). Deletes
// itself when the RPC is done, after the sink's Done().
template <typename T>
class ClientStreamCall final : public grpc::ClientReadReactor<T> {
 public:
  // `start(client_context, reactor)` issues the RPC with this reactor,
  // e.g. [stub, &request](auto* c, auto* r) {
  // stub->async()->StreamRoute(c, &request, r); } (the request must live
  // until the call is done: pass it in `keep`).
  template <typename Start>
  static void Run(Start&& start, const CallContextPtr& context,
                  const InternalAuth* auth, Sink<T>* sink,
                  std::shared_ptr<void> keep = nullptr,
                  WindDown wind_down = {}) {
    if (context->cancelled()) {
      sink->Done(absl::CancelledError("the call was cancelled"));
      return;
    }
    auto* call = new ClientStreamCall(context, auth, sink, std::move(keep),
                                      std::move(wind_down));
    sink->Start(std::make_shared<ResumeFlow>(call->state_));
    std::forward<Start>(start)(call->client_.get(),
                               static_cast<grpc::ClientReadReactor<T>*>(call));
    call->StartRead(&call->item_);
    call->StartCall();
  }

 private:
  // What the sink's Flow reaches: valid while the reactor lives.
  struct State {
    absl::Mutex mu;
    ClientStreamCall* call ABSL_GUARDED_BY(mu) = nullptr;
    bool paused ABSL_GUARDED_BY(mu) = false;
    bool resume_asked ABSL_GUARDED_BY(mu) = false;
  };

  // Reads on after a pause (also to see the end of a cancelled call: a
  // paused reactor holds back its OnDone).
  static void Unpause(State& state) {
    ClientStreamCall* call = nullptr;
    {
      absl::MutexLock lock(&state.mu);
      if (state.call == nullptr) return;
      if (!state.paused) {
        state.resume_asked = true;  // a Next() is in progress
        return;
      }
      state.paused = false;
      call = state.call;
    }
    // The hold taken when pausing keeps the reactor alive until here.
    call->StartRead(&call->item_);
    call->RemoveHold();
  }

  class ResumeFlow final : public Flow {
   public:
    explicit ResumeFlow(std::shared_ptr<State> state)
        : state_(std::move(state)) {}
    void Resume() override { Unpause(*state_); }

   private:
    std::shared_ptr<State> state_;
  };

  ClientStreamCall(const CallContextPtr& context, const InternalAuth* auth,
                   Sink<T>* sink, std::shared_ptr<void> keep,
                   WindDown wind_down)
      : client_(ToClientContext(*context, auth)),
        context_(context),
        sink_(sink),
        keep_(std::move(keep)),
        state_(std::make_shared<State>()) {
    {
      absl::MutexLock lock(&state_->mu);
      state_->call = this;
    }
    std::weak_ptr<grpc::ClientContext> client = client_;
    std::shared_ptr<State> state = state_;
    auto cut = [client] {
      if (auto alive = client.lock()) alive->TryCancel();
    };
    if (!wind_down.ask) {
      hook_ = context_->OnCancel([cut, state] {
        cut();
        Unpause(*state);
      });
      return;
    }
    std::string call_id = NewCallId();
    client_->AddMetadata(std::string(kCallIdKey), call_id);
    auto ask = std::make_shared<WindDown>(std::move(wind_down));
    hook_ = context_->OnCancel([cut, state, ask, call_id] {
      // Cut anyway once the grace is over (a no-op after the end).
      auto timer = std::make_shared<Timer>();
      timer->Set(absl::Now() + ask->grace, [timer, cut](bool fired) mutable {
        if (fired) cut();
        timer.reset();
      });
      ask->ask(call_id, [cut](bool found) {
        if (!found) cut();
      });
      Unpause(*state);
    });
  }

  // grpc::ClientReadReactor
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    {
      absl::MutexLock lock(&state_->mu);
      state_->resume_asked = false;
    }
    bool open = sink_->Next(std::move(item_));
    item_ = T();
    // Once cancelled, what is left is read to the end (a stream winding
    // down): its reader will not resume it.
    if (!open && !context_->cancelled()) {
      absl::MutexLock lock(&state_->mu);
      if (!state_->resume_asked) {
        state_->paused = true;
        this->AddHold();
        return;
      }
    }
    this->StartRead(&item_);
  }

  void OnDone(const grpc::Status& status) override {
    {
      absl::MutexLock lock(&state_->mu);
      state_->call = nullptr;
    }
    context_->Forget(hook_);
    sink_->Done(status::FromGrpcStatus(status));
    delete this;
  }

  std::shared_ptr<grpc::ClientContext> client_;
  CallContextPtr context_;
  CallContext::HookId hook_ = 0;
  Sink<T>* sink_;
  std::shared_ptr<void> keep_;
  std::shared_ptr<State> state_;
  T item_;
};

}  // namespace sluice::host
