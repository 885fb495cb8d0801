// One routed call, unary or streamed, as one state machine: the cache
// first (a hit answers, an identical request in flight is followed, a lease
// makes this call the one that fills it), then the attempts across the
// prepared candidates with retries and fallbacks (AttemptLoop), then the
// price, the cache fill and the answer. Transport-free: it calls the
// Adapters and Cache components and answers through a callback (unary) or
// a sink (stream), the only places the two kinds differ:
//   - a unary attempt is one answer; a truncated one may escalate;
//   - a streamed attempt holds back leading chunks without content, so that
//     a failure before the first token still falls back; after it, a
//     failure ends the stream with a chunk whose finish_reason is "error",
//     the usage so far (estimated when the provider gave none) and the error
//     status. Never a silent success.
// Every event (an answer, a chunk, a timer, a cancellation) runs on the
// call's Serializer, so the call needs no lock and holds none while it
// calls out. The caller's window (Sink::Next returning false) pauses the
// attempt's upstream read until the caller resumes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "libs/codec/chunk_assembler.h"
#include "libs/trace/active_span.h"
#include "libs/host/call_context.h"
#include "libs/host/call_tracker.h"
#include "libs/host/serializer.h"
#include "libs/host/sink.h"
#include "libs/host/timer.h"
#include "services/router/attempt_loop.h"
#include "services/router/router_core.h"
#include "sluice/v1/adapter.pb.h"
#include "sluice/v1/cache.pb.h"

namespace sluice::router {

class RouteCall final : public std::enable_shared_from_this<RouteCall> {
 public:
  // `ticket` is held until the call has answered and let go of everything.
  static void Unary(RouterCore* core, host::CallTracker::Ticket ticket,
                    host::CallContextPtr context,
                    sluice::v1::ChatRequest request,
                    host::Callback<sluice::v1::ChatResponse> done);
  static void Stream(RouterCore* core, host::CallTracker::Ticket ticket,
                     host::CallContextPtr context,
                     sluice::v1::ChatRequest request,
                     host::Sink<sluice::v1::ChatChunk>* out);

  RouteCall(RouterCore* core, host::CallTracker::Ticket ticket,
            host::CallContextPtr context, sluice::v1::ChatRequest request);
  ~RouteCall();

 private:
  class AttemptSink;
  class LookupSink;
  class CallerFlow;

  // Runs `event` on the serializer, holding the call alive meanwhile.
  void Post(absl::AnyInvocable<void() &&> event);

  // Events (on the serializer).
  void Begin();
  void OnCacheEvent(sluice::v1::CacheEvent event);
  void GoUpstream();
  void CountPrompt();
  void OnCounted(absl::StatusOr<int64_t> count);
  void Route(PreparedRoute route);
  void Step();
  void OnUnaryAnswer(int attempt,
                     absl::StatusOr<sluice::v1::ChatResponse> answer);
  void OnChunk(int attempt, sluice::v1::ChatChunk chunk);
  void OnAttemptEnded(int attempt, absl::Status status);
  void OnWake();
  void OnCancelled();

  // `resolved_model`: the request's model after aliases.
  void LookUp(cache::Cache* cache, std::string resolved_model);
  void Attempt(const Candidate& candidate);
  // A failed attempt: the caller gone, its deadline passed, or a failure
  // of the candidate (then the next step). Returns false when the call
  // must end with `ended`.
  bool AttemptFailed(const absl::Status& status, absl::Status* ended);
  // A unary answer from the cache (a hit, or the followed flight's).
  void AnswerFromCache(sluice::v1::ChatResponse response, const char* cache);
  // A streamed chunk from the cache, with this call's decision.
  void SendFromCache(sluice::v1::ChatChunk chunk, const char* cache);
  // To the caller (and into the cache when leading).
  void Emit(sluice::v1::ChatChunk chunk);
  // Sends the held chunks, the first stamped with the decision so far.
  void Commit();
  // The closing usage chunk: the provider's, or our estimate.
  void SendUsage();
  void StampDecision(sluice::v1::RouteDecision* decision);
  // Ends the call once: the cache fill, then the answer.
  void Finish(const absl::Status& status);
  void Deliver(const absl::Status& status);

  // A context for a call made for this one: a child of the router's span
  // when it is recorded.
  host::CallContextPtr ChildContext();
  // Ends the router's span with what the call came to.
  void EndSpan(const absl::Status& status);

  // Whether the caller has room (see CallerFlow): read on any thread.
  bool CallerOpen() const;
  void SetAttemptFlow(int attempt, host::FlowPtr flow);

  RouterCore* const core_;
  host::CallTracker::Ticket ticket_;
  const host::CallContextPtr context_;
  host::CallContext::HookId cancel_hook_ = 0;
  bool stream_ = false;
  host::Callback<sluice::v1::ChatResponse> done_;  // unary
  host::Sink<sluice::v1::ChatChunk>* out_ = nullptr;  // stream
  host::Serializer serializer_;
  trace::ActiveSpan span_;
  trace::ActiveSpan lookup_span_;  // until the cache's first event

  // State of the machine: touched on the serializer only.
  sluice::v1::AdapterRequest call_;
  PreparedRoute route_;
  std::optional<AttemptLoop> loop_;
  std::string cache_status_;
  cache::CacheFill* fill_ = nullptr;  // while leading a flight
  codec::ChunkAssembler assembled_;   // what fill_ got (stream)
  int from_cache_ = 0;                // chunks sent from the cache
  int attempt_ = 0;                   // id of the attempt in flight
  absl::Time attempt_start_;
  std::vector<sluice::v1::ChatChunk> held_;
  bool committed_ = false;
  std::optional<sluice::v1::ChatChunk> usage_;
  // id, created, model and route of the answer, for the chunks we add.
  sluice::v1::ChatChunk head_;
  std::string text_;                   // what was sent, for estimates
  std::string reasoning_;              // the reasoning part of it
  absl::Duration queued_;              // in the scheduler's queues
  sluice::v1::ChatResponse response_;  // unary
  std::unique_ptr<host::Timer> timer_;
  bool waiting_ = false;
  bool finished_ = false;

  // Flow control between the caller and the attempt's upstream read.
  std::atomic<uint64_t> resumes_{0};
  std::atomic<int64_t> blocked_at_{-1};  // resumes_ when the caller said full
  absl::Mutex flow_mu_;
  int flow_attempt_ ABSL_GUARDED_BY(flow_mu_) = 0;
  host::FlowPtr attempt_flow_ ABSL_GUARDED_BY(flow_mu_);
};

}  // namespace sluice::router
