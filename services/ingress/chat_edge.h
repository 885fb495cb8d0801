// One chat call through ingress, the same whichever API it came by (HTTP or
// the gRPC Gateway): admission (key, model, limits, budgets, stream slot),
// the Router component, the usage record. Only how the answer is written
// differs, and that is the face the transport hands in.
//
// The call's context carries the client's deadline and cancellation: the
// transport cancels it when the client goes, and the router then stops the
// upstream call. Each call holds a ticket of the edge's tracker from start
// to the record's end, so that ingress can drain before it stops.
#pragma once

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "libs/host/call_context.h"
#include "libs/host/call_tracker.h"
#include "libs/host/clock.h"
#include "libs/host/sink.h"
#include "services/ingress/chat_admission.h"
#include "services/ingress/request_admission.h"
#include "services/ingress/request_record.h"
#include "services/router/router.h"
#include "sluice/v1/chat.pb.h"

namespace sluice::ingress {

// How a unary answer is written.
class UnaryFace {
 public:
  virtual ~UnaryFace() = default;
  // The answer; `overhead_ms` is x-sluice-overhead-ms.
  virtual void Answer(sluice::v1::ChatResponse response, RequestRecord& record,
                      const std::string& overhead_ms) = 0;
  virtual void Fail(const absl::Status& status, RequestRecord& record) = 0;
};

// How a streamed answer is written.
class StreamFace {
 public:
  virtual ~StreamFace() = default;
  // How to restart the upstream after Chunk() said the window is full.
  virtual void Start(host::FlowPtr flow) {}
  // Before the first chunk (`first`; empty for an answer of no chunks).
  virtual void Head(const sluice::v1::ChatChunk& first, RequestRecord& record,
                    const std::string& overhead_ms) = 0;
  // False when the client's window is full.
  virtual bool Chunk(const sluice::v1::ChatChunk& chunk) = 0;
  // The stream ended well...
  virtual void End(RequestRecord& record) = 0;
  // ...or failed: before Head() (`started` false: a plain error answer is
  // still possible) or after it.
  virtual void Fail(const absl::Status& status, bool started,
                    RequestRecord& record) = 0;
};

class ChatEdge {
 public:
  // All must outlive the edge; `router` may be null (not reachable).
  // `clock` says when a request was accepted: its time-windowed prices.
  ChatEdge(ChatAdmission* admission, router::Router* router,
           host::CallTracker* calls, const host::Clock* clock = &host::Clock::Real())
      : admission_(admission), router_(router), calls_(calls), clock_(clock) {}

  // `request` as the transport decoded and checked it: a bad one is
  // answered with its error (charged to the key's tenant when the key is
  // good; a bad key's own error wins). `headers` need only live until
  // Unary()/Stream() return.
  void Unary(host::CallContextPtr context, const RequestHeaders& headers,
             absl::StatusOr<sluice::v1::ChatRequest> request,
             RequestRecordPtr record, std::unique_ptr<UnaryFace> face);
  void Stream(host::CallContextPtr context, const RequestHeaders& headers,
              absl::StatusOr<sluice::v1::ChatRequest> request,
              RequestRecordPtr record, std::unique_ptr<StreamFace> face);

  const ChatAdmission& admission() const { return *admission_; }

 private:
  // Calls `then` (now, or from a key lookup thread) with the error to
  // answer a request the transport could not take with: its own, or the
  // key's when the key is bad. The record is charged to the key's tenant
  // when the key is good.
  void Refuse(const absl::Status& invalid, const RequestHeaders& headers,
              const RequestRecordPtr& record,
              absl::AnyInvocable<void(absl::Status) &&> then) const;

  // Sets the request's priced_at to now.
  void StampAcceptance(sluice::v1::ChatRequest& request) const;

  ChatAdmission* admission_;
  router::Router* router_;
  host::CallTracker* calls_;
  const host::Clock* clock_;
};

}  // namespace sluice::ingress
