// A leader's fill streamed to a cache in another process (Cache.Fill):
// writes are queued, one in flight at a time, and bounded: past
// kMaxQueuedBytes (a cache that cannot keep up) the chunks are dropped and
// the fill ends abandoned, so a slow cache never holds the answer back.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/host/call_context.h"
#include "libs/host/internal_auth.h"
#include "services/cache/cache.h"
#include "sluice/v1/cache.grpc.pb.h"

namespace sluice::cache {

class RemoteFill final : public CacheFill,
                         public grpc::ClientWriteReactor<sluice::v1::CacheFill> {
 public:
  static constexpr int64_t kMaxQueuedBytes = 4 << 20;
  static constexpr absl::Duration kStoreWait = absl::Seconds(1);

  static RemoteFill* Start(sluice::v1::Cache::Stub* stub,
                           const host::CallContext& context,
                           const host::InternalAuth* auth,
                           const std::string& lease);

  // CacheFill
  void Chunk(const sluice::v1::ChatChunk& chunk) override;
  void Answer(const sluice::v1::ChatResponse& response) override;
  void Abandon() override;
  void Close(absl::AnyInvocable<void() &&> then) override;

 private:
  RemoteFill() = default;
  void Enqueue(sluice::v1::CacheFill message, bool last);
  const sluice::v1::CacheFill* NextLocked(bool* last)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(const sluice::v1::CacheFill* message, bool last);

  // grpc::ClientWriteReactor
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Shared with the timer that bounds the wait for the store.
  std::shared_ptr<grpc::ClientContext> context_;
  sluice::v1::CacheFillResponse response_;
  absl::Mutex mu_;
  std::deque<sluice::v1::CacheFill> pending_ ABSL_GUARDED_BY(mu_);
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;   // the last message is queued
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // a write failed
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::AnyInvocable<void() &&> then_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sluice::cache
