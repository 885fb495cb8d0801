// Executes one streamed routed call. The cache comes first: a hit is
// replayed chunk for chunk as it was first streamed; an identical request
// in flight is followed live; a lease makes this call the one whose chunks
// fill the cache. Then the attempts: until the first chunk with content is
// sent, a failed attempt is retried or falls back like a unary call (empty
// leading chunks, such as the role chunk, are held back for that); after
// it, a failure ends the stream with a chunk whose finish_reason is
// "error", the usage so far (estimated when the provider gave none) and the
// error status, which ingress turns into an SSE error event. Never a silent
// success.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/codec/chunk_assembler.h"
#include "libs/host/queued_stream_writer.h"
#include "services/router/attempt_loop.h"
#include "services/router/cache_fill.h"
#include "services/router/router_core.h"
#include "sluice/v1/adapter.pb.h"

namespace sluice::router {

class StreamExecution final
    : public host::QueuedStreamWriter<sluice::v1::ChatChunk> {
 public:
  // Returns the reactor for the server call; it deletes itself when done.
  // `resolved_model` is the request's model after aliases.
  static grpc::ServerWriteReactor<sluice::v1::ChatChunk>* Start(
      RouterCore* core, grpc::CallbackServerContext* context,
      const sluice::v1::ChatRequest& request,
      const std::string& resolved_model);

 private:
  class AttemptReader;

  StreamExecution(RouterCore* core, grpc::CallbackServerContext* context,
                  const sluice::v1::ChatRequest& request);

  void LookUp(const std::string& resolved_model);
  void OnCacheHit(sluice::v1::CachedAnswer answer) ABSL_LOCKS_EXCLUDED(mu_);
  void OnCacheChunk(sluice::v1::ChatChunk chunk) ABSL_LOCKS_EXCLUDED(mu_);
  void OnCacheDone(sluice::v1::ChatResponse response) ABSL_LOCKS_EXCLUDED(mu_);
  // Sends a chunk of a cached or shared answer (see the .cc).
  void SendFromCacheLocked(sluice::v1::ChatChunk chunk, const char* cache)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnCacheMiss(bool bypass, CacheFill* fill)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Each returns true when the execution's own hold must be released (after
  // the lock is let go: the release may delete the execution).
  bool GoUpstreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool StepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnChunk(int attempt, sluice::v1::ChatChunk chunk) ABSL_LOCKS_EXCLUDED(mu_);
  void OnAttemptDone(int attempt, const grpc::Status& status)
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnAlarm() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the stream, once.
  bool EndLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends a chunk to the client (and into the cache when leading).
  void EmitLocked(sluice::v1::ChatChunk chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the held chunks, the first stamped with the decision so far.
  void CommitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The closing usage chunk: the provider's, or our estimate.
  void SendUsageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StampDecisionLocked(sluice::v1::RouteDecision* decision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const std::string& TenantLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // QueuedStreamWriter
  void OnDownstreamGone() override;

  RouterCore* const core_;
  grpc::CallbackServerContext* const context_;

  absl::Mutex mu_;
  PreparedRoute route_ ABSL_GUARDED_BY(mu_);
  std::optional<AttemptLoop> loop_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<sluice::v1::AdapterRequest> call_ ABSL_GUARDED_BY(mu_);
  std::string cache_status_ ABSL_GUARDED_BY(mu_);
  CacheFill* fill_ ABSL_GUARDED_BY(mu_) = nullptr;  // when leading a flight
  codec::ChunkAssembler assembled_ ABSL_GUARDED_BY(mu_);  // what fill_ got
  int from_cache_ ABSL_GUARDED_BY(mu_) = 0;  // chunks sent from the cache
  int attempt_ ABSL_GUARDED_BY(mu_) = 0;  // id of the attempt in flight
  std::shared_ptr<grpc::ClientContext> attempt_context_ ABSL_GUARDED_BY(mu_);
  absl::Time attempt_start_ ABSL_GUARDED_BY(mu_);
  std::vector<sluice::v1::ChatChunk> held_ ABSL_GUARDED_BY(mu_);
  bool committed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<sluice::v1::ChatChunk> usage_ ABSL_GUARDED_BY(mu_);
  // id, created and model of the answer, for the chunks we add.
  sluice::v1::ChatChunk head_ ABSL_GUARDED_BY(mu_);
  std::string text_ ABSL_GUARDED_BY(mu_);  // what was sent, for estimates
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<grpc::ClientContext> lookup_context_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::router
